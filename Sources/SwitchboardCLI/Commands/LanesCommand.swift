import ArgumentParser
import Switchboard

struct LanesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lanes",
        abstract: "List the lanes, their slots in the order a request would try them, each slot's health and price, and why.")

    @OptionGroup var options: GatewayOptions

    @Flag(name: .long, help: "Print JSON.")
    var json = false

    func run() async throws {
        try await reportingErrors {
            let loaded = try options.load(quiet: json)
            let lanes = loaded.gateway.lanes
            // Each provider in a lane is probed once, all at once.
            let ids = Set(lanes.byName.values.flatMap { $0.slots.map(\.provider.id) })
            let probed = loaded.gateway.providers.filter { ids.contains($0.id) }
            let context = options.context(loaded.logger, timeout: .seconds(15))
            let statuses = await probe(probed, context: context)
            let health = Dictionary(zip(probed.map(\.id), statuses.map(\.status.rawValue))) { first, _ in first }
            let report = lanes.report(health: health)
            if json {
                Terminal.out(Terminal.json(report))
                return
            }
            guard case .array(let items) = report, !items.isEmpty else {
                Terminal.out("no lanes (add [lanes.NAME] sections, or configure a provider for the detected ones)\n")
                return
            }
            var rows: [[String]] = []
            for lane in items {
                guard case .array(let slots)? = lane["slots"] else { continue }
                let name = "\(lane["name"]?.stringValue ?? "") (\(lane["strategy"]?.stringValue ?? ""))"
                for (i, slot) in slots.enumerated() {
                    let price = slot["price_nano_usd_per_million"]?.intValue.map { "\(NanoUSD($0))/M" } ?? "-"
                    rows.append([
                        i == 0 ? name : "", slot["slot"]?.stringValue ?? "", slot["health"]?.stringValue ?? "", price,
                        slot["why"]?.stringValue ?? "",
                    ])
                }
            }
            Terminal.out(Terminal.table(["LANE", "SLOT", "HEALTH", "PRICE", "WHY HERE"], rows))
        }
    }
}
