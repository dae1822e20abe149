@_exported import SwitchboardConfig
@_exported import SwitchboardCore
@_exported import SwitchboardProviders
