import ArgumentParser
import Switchboard

struct RouteCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "route", abstract: "Show, without calling them, the slots a request for MODEL would try now, in order, and why.")

    @OptionGroup var options: GatewayOptions

    @Argument(help: "A model name as a client would send it: provider/model, a bare name, or lane:NAME.")
    var model: String

    @Flag(name: .long, help: "Print JSON.")
    var json = false

    func run() async throws {
        try await reportingErrors {
            let loaded = try options.load(quiet: json)
            let (target, attempts) = try await loaded.gateway.plan(
                model: model, context: options.context(loaded.logger, timeout: .seconds(15)))
            if json {
                let slots = attempts.map { JSONValue.object(["slot": .string($0.slot), "why": .string($0.why)]) }
                Terminal.out(Terminal.json(["model": .string(model), "target": .string(target), "slots": .array(slots)]))
                return
            }
            Terminal.out("\(model) -> \(target)\n")
            Terminal.out(Terminal.table(["#", "SLOT", "WHY"], attempts.enumerated().map { [String($0 + 1), $1.slot, $1.why] }))
        }
    }
}
