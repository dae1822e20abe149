import Foundation
import SwitchboardCore
import SwitchboardProviders
import SwitchboardTesting
import Testing

@Suite struct SigV4Tests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let example = AWSCredentials(accessKeyID: "AKIDEXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")
    static let date = Date(timeIntervalSince1970: 1_704_067_200)  // 20240101T000000Z
    static let body = Array(#"{"messages":[{"role":"user","content":[{"text":"Hello"}]}],"inferenceConfig":{"maxTokens":256}}"#.utf8)
    static let url = "https://bedrock-runtime.us-east-1.amazonaws.com/model/anthropic.claude-3-haiku-20240307-v1%3A0/converse"

    @Test func theReferenceVectorSignsToTheDocumentedSignature() {
        let signed = SigV4.sign(
            method: "POST", url: Self.url, headers: [("Content-Type", "application/json")], body: Self.body,
            credentials: Self.example, region: "us-east-1", service: "bedrock", date: Self.date)
        #expect(
            signed.canonicalRequest.split(separator: "\n", omittingEmptySubsequences: false)[1]
                == "/model/anthropic.claude-3-haiku-20240307-v1%253A0/converse")
        #expect(signed.signature == "a4b82a857feb6b976e5110a3d87b2ce8cd6ecb0703e1d15db215a6a5e5d1f32a")
        var withToken = Self.example
        withToken.sessionToken = "EXAMPLESESSIONTOKEN"
        let temporary = SigV4.sign(
            method: "POST", url: Self.url, headers: [("Content-Type", "application/json")], body: Self.body,
            credentials: withToken, region: "us-east-1", service: "bedrock", date: Self.date)
        #expect(temporary.signature == "b5700ce3c2a71c656f3486a050f25bceb277e33753245aa7cc0acbd461e20071")
        #expect(temporary.headers.contains { $0 == ("X-Amz-Security-Token", "EXAMPLESESSIONTOKEN") })
    }

    struct Case {
        var method = "POST"
        var url: String
        var headers: [(String, String)] = [("Content-Type", "application/json")]
        var body = ""
        var credentials = SigV4Tests.example
        var region = "us-east-1"
        var date = SigV4Tests.date
    }

    static let cases: [Case] = [
        Case(url: url, body: String(decoding: body, as: UTF8.self)),
        Case(
            url: url, body: "{}",
            credentials: AWSCredentials(
                accessKeyID: "ASIAXYZ", secretAccessKey: "s3cr3t/+=", sessionToken: "FwoGZXIvYXdzE//token+with/slashes==")),
        Case(
            url:
                "https://bedrock-runtime.eu-west-1.amazonaws.com/model/arn%3Aaws%3Abedrock%3Aeu-west-1%3A123456789012%3Ainference-profile%2Feu.anthropic.claude-sonnet-4-5/converse-stream",
            body: #"{"a":1}"#, region: "eu-west-1"),
        Case(url: "https://bedrock-runtime.us-west-2.amazonaws.com/model/caf%C3%A9%20model%21/converse", body: "x", region: "us-west-2"),
        Case(
            method: "GET",
            url: "https://bedrock.us-east-1.amazonaws.com/foundation-models?byProvider=anthropic&byOutputModality=TEXT&a=2&a=1&empty=",
            headers: []),
        Case(
            url: "https://bedrock-runtime.us-east-1.amazonaws.com/model/m/converse?x=%2Fy%20z&b=",
            headers: [
                ("Content-Type", "application/json"), ("X-Custom-Header", "  spaced    out   value "), ("User-Agent", "not-signed/1.0"),
                ("x-amz-content-sha256", "UNSIGNED-PAYLOAD"),
            ],
            body: "{\"b\":2}"),
        Case(url: "http://127.0.0.1:8931/model/local%3Amodel/converse", body: "{}"),
        Case(
            url: "https://bedrock-runtime.us-east-1.amazonaws.com/model/trailing/", body: "",
            date: Date(timeIntervalSince1970: 1_767_225_599)),
        Case(url: "https://bedrock-runtime.ap-southeast-2.amazonaws.com/model/a/../b/./converse", body: "{}", region: "ap-southeast-2"),
    ]

    @Test func signaturesMatchBotocoreForManyRequests() async throws {
        let python = Self.root.appendingPathComponent(".venv/bin/python")
        try #require(
            FileManager.default.isExecutableFile(atPath: python.path),
            "botocore's reference signer needs .venv (scripts/test makes it; or scripts/python-env)")
        let iso = { (d: Date) -> String in
            let f = DateFormatter()
            f.locale = Locale(identifier: "en_US_POSIX")
            f.timeZone = TimeZone(identifier: "UTC")
            f.dateFormat = "yyyyMMdd'T'HHmmss'Z'"
            return f.string(from: d)
        }
        let input: JSONValue = .array(
            Self.cases.map { c in
                [
                    "method": .string(c.method), "url": .string(c.url),
                    "headers": .array(c.headers.map { [.string($0.0), .string($0.1)] }),
                    "body": .string(c.body), "access_key": .string(c.credentials.accessKeyID),
                    "secret_key": .string(c.credentials.secretAccessKey),
                    "token": c.credentials.sessionToken.map(JSONValue.string) ?? .null, "region": .string(c.region), "service": "bedrock",
                    "timestamp": .string(iso(c.date)),
                ]
            })
        let process = try ChildProcess(
            executable: python.path,
            arguments: [Self.root.appendingPathComponent("Tests/python/sigv4_reference.py").path],
            environment: ProcessInfo.processInfo.environment)
        try process.write(input.jsonString())
        process.closeStdin()
        let termination = await process.wait()
        let output = Data(process.stdout.utf8)
        #expect(termination == .exited(0), "\(process.stderr)")
        let reference = try JSONValue.parse(output).arrayValue ?? []
        try #require(reference.count == Self.cases.count)
        for (c, ref) in zip(Self.cases, reference) {
            let signed = SigV4.sign(
                method: c.method, url: c.url, headers: c.headers, body: Array(c.body.utf8), credentials: c.credentials,
                region: c.region, service: "bedrock", date: c.date)
            let ours = signed.headers.first { $0.0 == "Authorization" }?.1
            #expect(ours == ref["authorization"]?.stringValue, "\(c.url)\n\(signed.canonicalRequest)")
        }
    }
}
