import HTTPTypes
@testable import SwitchboardServer
import Testing

@Suite struct HeaderFieldTests {
    @Test func aValueReadsAsTheSubscriptReadsIt() {
        var fields: HTTPFields = [.authorization: "Bearer a", .contentType: "application/json"]
        #expect(fields.value(.authorization) == fields[.authorization])
        #expect(fields.value(.accept) == nil)
        fields.append(HTTPField(name: .authorization, value: "Bearer b"))
        #expect(fields.value(.authorization) == "Bearer a, Bearer b")
        #expect(fields.value(.authorization) == fields[.authorization])
    }

    @Test func settingAFieldAppendsItOrReplacesEveryCopy() {
        var fields: HTTPFields = [.contentType: "application/json"]
        fields.set(.server, "switchboard")
        #expect(fields[.server] == "switchboard" && fields.count == 2)
        fields.append(HTTPField(name: .server, value: "other"))
        fields.set(.server, "switchboard")
        #expect(fields[values: .server] == ["switchboard"] && fields.count == 2)
    }

    @Test(arguments: [(0, "0.000"), (12, "0.012"), (1_234, "1.234"), (1_000, "1.000"), (1_500_500, "1500.500"), (-5, "0.000")])
    func overheadIsMillisecondsWithThreeDecimals(_ micros: Int, _ text: String) {
        #expect(RequestPipeline.milliseconds(.microseconds(micros)) == text)
    }
}
