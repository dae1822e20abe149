import ArgumentParser

struct SwitchboardCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "switchboard",
        abstract: "One API in front of many LLM providers.",
        subcommands: [
            ChatCommand.self, ModelsCommand.self, HealthCommand.self, ProvidersCommand.self, ServeCommand.self,
            KeysCommand.self, PricingCommand.self, UsageCommand.self, LoginCommand.self, LanesCommand.self, RouteCommand.self,
        ]
    )
}
