public import Logging
import Synchronization

extension Usage {
    /// The most tokens one request may report in any field; a larger (or negative) count is a broken report.
    public static let plausibleTokens = 1_000_000_000

    /// Whether every count lies in `0...plausibleTokens`.
    public var isPlausible: Bool {
        let range = 0...Self.plausibleTokens
        return range.contains(inputTokens) && range.contains(outputTokens) && range.contains(reasoningTokens)
            && range.contains(cachedTokens)
    }
}

/// Checks usage an upstream reported before it is counted: usage is untrusted input, and a negative or absurd
/// count must neither trap nor be billed. Says so in the log once per provider.
public final class UsageAudit: Sendable {
    private let warned = Mutex<Set<String>>([])

    /// An audit that has warned about no provider yet.
    public init() {}

    /// `usage` when it is plausible; nil (so the caller estimates from the text instead) when it is not.
    public func check(_ usage: Usage?, provider: String, logger: Logger) -> Usage? {
        guard let usage, !usage.isPlausible else { return usage }
        if warned.withLock({ $0.insert(provider).inserted }) {
            logger.warning(
                "upstream reported implausible token usage; counting an estimate instead (logged once per provider)",
                metadata: [
                    "provider": "\(provider)", "input_tokens": "\(usage.inputTokens)",
                    "output_tokens": "\(usage.outputTokens)", "reasoning_tokens": "\(usage.reasoningTokens)",
                    "cached_tokens": "\(usage.cachedTokens)",
                ])
        }
        return nil
    }
}

extension FixedWidthInteger where Self: SignedInteger {
    /// The sum, held at `.max` or `.min` instead of trapping on overflow.
    public func saturatingAdding(_ other: Self) -> Self {
        let (sum, overflow) = addingReportingOverflow(other)
        guard overflow else { return sum }
        return other > 0 ? .max : .min
    }

    /// The difference, held at `.max` or `.min` instead of trapping on overflow.
    public func saturatingSubtracting(_ other: Self) -> Self {
        let (difference, overflow) = subtractingReportingOverflow(other)
        guard overflow else { return difference }
        return other < 0 ? .max : .min
    }
}
