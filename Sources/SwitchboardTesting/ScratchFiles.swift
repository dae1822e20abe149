public import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Where tests put the files they make: one directory for the test process, deleted when it exits, and a directory a
/// killed test process left is deleted by the next one. A test's own cleanup may still run first; nothing depends on it.
public enum ScratchFiles {
    /// A fresh path in the process's scratch directory, named `prefix`, a unique id and `suffix` (nothing is created).
    public static func path(_ prefix: String, suffix: String = "") -> String {
        directory + "/" + prefix + "-" + UUID().uuidString + suffix
    }

    /// A fresh path as a file URL.
    public static func url(_ prefix: String, suffix: String = "") -> URL {
        URL(fileURLWithPath: path(prefix, suffix: suffix))
    }

    private static let parent = FileManager.default.temporaryDirectory.path
    private static let marker = "switchboard-tests."

    /// Made on first use, after deleting the directories of test processes no longer running.
    private static let directory: String = {
        sweep()
        let path = parent + "/" + marker + String(getpid())
        try? FileManager.default.removeItem(atPath: path)
        do {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        } catch {
            fatalError("cannot create the tests' scratch directory \(path): \(error)")
        }
        atexit { try? FileManager.default.removeItem(atPath: ScratchFiles.directory) }
        return path
    }()

    /// Deletes the scratch directories whose process is gone.
    private static func sweep() {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: parent)) ?? []
        for name in names where name.hasPrefix(marker) {
            guard let pid = pid_t(name.dropFirst(marker.count)), kill(pid, 0) != 0, errno == ESRCH else { continue }
            try? FileManager.default.removeItem(atPath: parent + "/" + name)
        }
    }
}
