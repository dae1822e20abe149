/// Removes secrets from text that may reach a log, an error or a response.
public enum Redaction {
    /// Replaces each known secret and anything shaped like an API key or bearer token with `[REDACTED]`.
    public static func redact(_ text: String, secrets: [String] = []) -> String {
        var out = text
        for secret in secrets where secret.count >= 4 {
            out = out.replacing(secret, with: "[REDACTED]")
        }
        // Key-shaped tokens: common provider prefixes followed by a long run of key characters.
        out = out.replacing(
            #/(?i)\b(sk|csk|gsk|xai|pk|rk|sb|ghu|gho|ghp|AIza|AKIA)[-_A-Za-z0-9]{12,}/#, with: "[REDACTED]")
        out = out.replacing(#/(?i)(bearer\s+)[-._~+\/A-Za-z0-9]{8,}=*/#) { match in
            "\(match.output.1)[REDACTED]"
        }
        return out
    }
}
