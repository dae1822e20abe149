import Foundation
import SwitchboardCore
import SwitchboardProviders
import Testing
import SwitchboardTesting

/// Agent CLIs as providers, against a fake agent (`Tests/Fixtures/cli-agents/fake-agent`) that speaks each preset's
/// headless protocol and misbehaves as its model name says.
@Suite(.timeLimit(.minutes(1))) struct CLIAgentProviderTests {
    static let fake = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/cli-agents/fake-agent").path

    static func provider(
        _ preset: CLIAgentPreset, environment: [String: String] = [:], configure: (inout CLIAgentProvider.Options) -> Void = { _ in }
    ) -> CLIAgentProvider {
        var options = CLIAgentProvider.Options(id: "agent", preset: preset, executable: fake)
        options.environment = ["PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"].merging(environment) { $1 }
        options.timeout = .seconds(20)
        options.killGrace = .milliseconds(200)
        configure(&options)
        return CLIAgentProvider(options: options)
    }

    static func events(
        _ provider: CLIAgentProvider, model: String = "default", prompt: String = "How many files?", session: String? = nil
    )
        async throws -> (events: [StreamEvent], trace: CallTrace)
    {
        var context = CallContext.testing(timeout: .seconds(30)).traced()
        context.session = session
        var out: [StreamEvent] = []
        for try await event in provider.stream(ChatRequest(model: model, messages: [.user(prompt)]), context: context) { out.append(event) }
        return (out, context.trace!)
    }

    static func text(_ events: [StreamEvent]) -> String {
        events.map { if case .textDelta(let t) = $0 { t } else { "" } }.joined()
    }

    static func record() -> String {
        ScratchFiles.path("agent", suffix: ".json")
    }

    /// The pid of the child a `hang` run started, once the run wrote it to `file` (it has started and holds its slot).
    static func childPID(_ file: String) async -> Int32? {
        var pid: Int32?
        _ = await eventually {
            pid = (try? String(contentsOfFile: file, encoding: .utf8)).flatMap { Int32($0.trimmingCharacters(in: .whitespaces)) }
            return pid != nil
        }
        return pid
    }

    /// Waits until `pid` is gone; false if it is still there after the bound.
    static func ended(_ pid: Int32) async -> Bool {
        await eventually { kill(pid, 0) != 0 }
    }

    @Test func codexEventsBecomeTheAnswerItsCommentaryItsActionsAndItsUsage() async throws {
        let (events, trace) = try await Self.events(Self.provider(.codex))
        #expect(events.first == .started(id: "0199c0de-5a1e-7b22-9c41-3f6a2d0e8b17", model: "default", provider: "agent"))
        #expect(trace.session == "0199c0de-5a1e-7b22-9c41-3f6a2d0e8b17")
        let reasoning = events.map { if case .reasoningDelta(let r) = $0 { r } else { "" } }.joined()
        #expect(reasoning == "**Counting files**\n\nLet me look.\n\n")
        let actions = events.compactMap { if case .agentAction(let a) = $0 { a } else { nil } }
        #expect(actions.map(\.kind) == ["command", "file_change"] && actions[0].summary == "bash -lc 'ls | wc -l'")
        #expect(actions[0].status == "exit 0" && actions[1].summary == "add notes.md")
        #expect(Self.text(events) == "The answer, for a prompt of 15 bytes.")
        #expect(events.suffix(2) == [.usage(Usage(inputTokens: 1820, outputTokens: 96, cachedTokens: 1792)), .finish(.stop)])
    }

    @Test func claudeMessagesCarryThinkingToolsTheResultAndTheCostItReports() async throws {
        let (events, trace) = try await Self.events(Self.provider(.claude))
        #expect(trace.session == "5f0b9c1e-2f7a-4f55-9a43-0c6e7d1b2a90")
        let reasoning = events.map { if case .reasoningDelta(let r) = $0 { r } else { "" } }.joined()
        #expect(reasoning == "I should list files.Let me look.\n\n")
        #expect(
            events.contains(
                .agentAction(
                    AgentAction(
                        kind: "tool", summary: "Bash ls src",
                        detail: [
                            "type": "tool_use", "id": "toolu_1", "name": "Bash", "input": ["command": "ls src"],
                        ]))))
        #expect(Self.text(events) == "The answer, for a prompt of 15 bytes.")
        var usage = Usage(inputTokens: 3232, outputTokens: 55, cachedTokens: 100, cacheWriteTokens: 10)
        usage.reportedCost = NanoUSD(usd: "0.0061")
        #expect(events.contains(.usage(usage)))
    }

    @Test func geminiAndPlainTextAgentsStreamTheirAnswers() async throws {
        let (gemini, _) = try await Self.events(Self.provider(.gemini))
        #expect(Self.text(gemini) == "The answer, for a prompt of 15 bytes. ")
        #expect(gemini.contains(.usage(Usage(inputTokens: 50, outputTokens: 9))))
        let (plain, trace) = try await Self.events(Self.provider(.llm), prompt: "héllo ✓")
        #expect(Self.text(plain) == "The answer, for a prompt of 10 bytes." && plain.last == .finish(.stop))
        #expect(trace.session == nil)
    }

    @Test func aSessionIsResumedWithTheNewestMessageAlone() async throws {
        let file = Self.record()
        defer { try? FileManager.default.removeItem(atPath: file) }
        let provider = Self.provider(.codex, environment: ["FAKE_AGENT_RECORD": file])
        var context = CallContext.testing(timeout: .seconds(30)).traced()
        context.session = "thread-42"
        let request = ChatRequest(model: "gpt-5-codex", messages: [.user("first"), .assistant("done"), .user("and now?")])
        let answer = try await provider.chat(request, context: context)
        #expect(answer.id == "thread-42" && context.trace?.session == "thread-42")
        let recorded = try JSONValue.parse(Data(contentsOf: URL(fileURLWithPath: file)))
        #expect(recorded["prompt"] == "and now?")
        #expect(
            recorded["args"]
                == ["exec", "--json", "--skip-git-repo-check", "--model", "gpt-5-codex", "resume", "thread-42", "-"])
        #expect(answer.agentActions.count == 2)
    }

    @Test func thePromptArrivesByteForByteAndTheEnvironmentIsOnlyWhatWasGiven() async throws {
        let file = Self.record()
        defer { try? FileManager.default.removeItem(atPath: file) }
        let prompt = "$(rm -rf /) `id` \"double\" 'single' ; | & > < \\ \n-- --model evil\n✓ ü \u{0}end"
        let provider = Self.provider(.claude, environment: ["FAKE_AGENT_RECORD": file]) { $0.sandbox = "plan" }
        setenv("SWITCHBOARD_AGENT_TEST_SECRET", "s3cret", 1)
        _ = try await Self.events(provider, prompt: prompt)
        let recorded = try JSONValue.parse(Data(contentsOf: URL(fileURLWithPath: file)))
        #expect(recorded["prompt"]?.stringValue == prompt)
        #expect(recorded["args"] == ["-p", "--output-format", "stream-json", "--verbose", "--permission-mode", "plan"])
        let names = Set(recorded["env"]?.objectValue?.keys.map { $0 } ?? [])
        // Nothing of the gateway's own environment is passed (the interpreter may add its own variables).
        #expect(names.contains("PATH") && names.contains("FAKE_AGENT_RECORD"))
        #expect(!names.contains("SWITCHBOARD_AGENT_TEST_SECRET") && !names.contains("HOME"), "\(names)")
    }

    @Test(arguments: [CLIAgentPreset.codex, .claude])
    func failuresAreProviderErrorsTheRouterUnderstands(preset: CLIAgentPreset) async throws {
        await #expect { try await Self.events(Self.provider(preset), model: "malformed") } throws: {
            ($0 as? ProviderError)?.kind == .decoding
        }
        // Before any output the router may try another slot; after it, the stream ends in error.
        await #expect { try await Self.events(Self.provider(preset), model: "crash-early") } throws: {
            guard let e = $0 as? ProviderError else { return false }
            return e.kind == .server(status: 503) && e.diagnostic?.contains("boom: the agent could not start") == true && e.isRetryable
                && e.message == "the agent exited with status 3"
        }
        var seen: [StreamEvent] = []
        do {
            for try await event in Self.provider(preset).stream(
                ChatRequest(model: "crash", messages: [.user("x")]), context: .testing(timeout: .seconds(30)))
            {
                seen.append(event)
            }
            Issue.record("a crash mid-stream ended cleanly")
        } catch let e as ProviderError {
            #expect(e.message == "the agent exited with status 3" && e.diagnostic?.contains("boom: the agent died") == true, "\(e)")
        }
        #expect(seen.contains { if case .agentAction = $0 { true } else { false } })
        await #expect { try await Self.events(Self.provider(preset), model: "failed") } throws: { $0 is ProviderError }
    }

    @Test func anAgentPastItsTimeoutIsEndedWithEverythingItStarted() async throws {
        let childFile = Self.record()
        defer { try? FileManager.default.removeItem(atPath: childFile) }
        let provider = Self.provider(.codex, environment: ["FAKE_AGENT_CHILD": childFile]) { $0.timeout = .seconds(3) }
        await #expect { try await Self.events(provider, model: "hang") } throws: { ($0 as? ProviderError)?.kind == .timeout }
        let pid = try #require(await Self.childPID(childFile), "the agent never started its child")
        // The agent's own child is in its process group, which the teardown ends.
        #expect(await Self.ended(pid), "the agent's child \(pid) outlived it")
    }

    @Test func aClientThatLeavesEndsTheAgentAndEverythingItStarted() async throws {
        let childFile = Self.record()
        defer { try? FileManager.default.removeItem(atPath: childFile) }
        let provider = Self.provider(.claude, environment: ["FAKE_AGENT_CHILD": childFile])
        let consumer = Task { try await Self.events(provider, model: "hang") }
        let pid = try #require(await Self.childPID(childFile), "the agent never started its child")
        #expect(kill(pid, 0) == 0)
        consumer.cancel()
        _ = await consumer.result
        #expect(await Self.ended(pid), "the agent's child \(pid) outlived the client")
    }

    @Test func aSessionMayComeInTheRequestsMetadata() {
        var request = ChatRequest(model: "m", messages: [.user("x")])
        request.passthrough["metadata"] = ["session": "from-metadata"]
        var context = CallContext.testing(timeout: .seconds(1))
        #expect(CLIAgentTranslation.session(request, context: context) == "from-metadata")
        context.session = "from-header"
        #expect(CLIAgentTranslation.session(request, context: context) == "from-header")
    }

    @Test func aHugeAnswerArrivesWhole() async throws {
        let answer = try await Self.provider(.codex).chat(
            ChatRequest(model: "huge", messages: [.user("x")]), context: .testing(timeout: .seconds(30)))
        #expect(answer.content.count == 3 << 20 && answer.content.allSatisfy { $0 == "x" })
    }

    @Test func moreRequestsThanRunsAndQueueAreRefusedAsRateLimited() async throws {
        let childFile = Self.record()
        defer { try? FileManager.default.removeItem(atPath: childFile) }
        let provider = Self.provider(.codex, environment: ["FAKE_AGENT_CHILD": childFile]) {
            $0.maxConcurrent = 1
            $0.maxQueued = 0
            $0.timeout = .seconds(20)
        }
        let busy = Task { try await Self.events(provider, model: "hang") }
        defer { busy.cancel() }
        // The first run holds the only slot once it has started, which its child's pid says.
        _ = try #require(await Self.childPID(childFile), "the first run never started")
        await #expect { try await Self.events(provider) } throws: {
            if case .rateLimited = ($0 as? ProviderError)?.kind { true } else { false }
        }
        busy.cancel()
        _ = await busy.result
        // The slot is free once the cancelled run's process group is gone.
        let deadline = ContinuousClock.now + .seconds(30)
        while true {
            do {
                let (events, _) = try await Self.events(provider)
                #expect(Self.text(events).hasPrefix("The answer"))
                break
            } catch let e as ProviderError where ContinuousClock.now < deadline {
                guard case .rateLimited = e.kind else { throw e }
                try await Task.sleep(for: .milliseconds(50))
            }
        }
    }

    @Test func theTranscriptPromptCarriesSystemAndTurns() {
        let request = ChatRequest(
            model: "m", messages: [.system("Be brief."), .user("one"), .assistant("two"), .tool(callID: "c", "three"), .user("four")])
        #expect(
            CLIAgentTranslation.prompt(request, resuming: false)
                == "Be brief.\n\nThe conversation so far:\n\nUser: one\n\nAssistant: two\n\nTool result: three\n\nUser: four")
        #expect(CLIAgentTranslation.prompt(request, resuming: true) == "four")
        let custom = CLIAgentTranslation.invocation(
            .custom, model: "m1", prompt: "p q", session: nil, sandbox: nil, workdir: nil,
            customArguments: ["--ask", "{prompt}", "-m={model}"])
        #expect(custom == CLIAgentInvocation(arguments: ["--ask", "p q", "-m=m1"], standardInput: nil))
    }
}
