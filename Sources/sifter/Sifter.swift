import ArchiveIO
import ArgumentParser
import CurlHTTP
import Distribution
import Foundation
import Hashing
import OCISpec
import Rootfs
import SIF
import SifterCore
import Squashfs

@main
struct Sifter: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sifter",
        abstract: "Turn OCI container images into Apptainer SIF files, inspect and edit SIF files.",
        version: SifterVersion.current,
        subcommands: [Build.self, Def.self, Inspect.self, Export.self, Verify.self, Sign.self, SBOMCommand.self, Cache.self, SIFCommand.self, Push.self, Pull.self, Convert.self, Sync.self, Prune.self]
    )

    /// Errors become a one-line message on stderr and an exit code; usage errors keep
    /// ArgumentParser's own handling (exit 64).
    static func main() {
        // A write into a pipe whose reader is gone (mksquashfs failed, `export -` into a closed
        // pipe) must fail with EPIPE and be reported, not kill the process.
        signal(SIGPIPE, SIG_IGN)
        let interruption = Self.cleanUpOnInterrupt()
        defer { withExtendedLifetime(interruption) {} }
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch {
            guard let (message, code) = failure(error) else { exit(withError: error) }
            fail(message, code: code)
        }
    }

    /// The message and exit status for an error of sifter's own modules; nil hands the error
    /// to ArgumentParser (usage errors, --help, --version).
    static func failure(_ error: any Error) -> (String, Int32)? {
        guard let category = FailureCategory(error) else { return nil }
        return ("\(error)", category.exitStatus)
    }

    /// On SIGINT or SIGTERM, removes the temporary output being written (mksquashfs, in the
    /// same process group, gets the terminal's SIGINT itself) and exits 130 / 143.
    static func cleanUpOnInterrupt() -> [any DispatchSourceSignal] {
        [SIGINT, SIGTERM].map { number in
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler {
                AtomicOutput.discardAllPending()
                FileHandle.standardError.write(Data("\nsifter: interrupted; nothing was written\n".utf8))
                Foundation.exit(128 + number)
            }
            source.resume()
            return source
        }
    }

    static func fail(_ message: String, code: Int32) -> Never {
        printError(message)
        Foundation.exit(code)
    }
}

// Everything sifter prints goes through these, so that text from outside (registry
// messages, SIF names and objects, image metadata) never reaches a terminal raw.

/// A report on standard output: control characters other than LF and TAB are escaped.
func printOut(_ text: String) {
    FileHandle.standardOutput.write(Data(TerminalText.lines(text).utf8))
}

/// A one-line message on standard error, `sifter: ` first; line breaks in it are escaped, so
/// no text can start a line of its own.
func printError(_ message: String) {
    let line = "sifter: \(TerminalText.line(message))\n"
    if let progress = activeProgress.withLock({ $0 }) {
        progress.printAbove(line)
    } else {
        FileHandle.standardError.write(Data(line.utf8))
    }
}

/// A document on standard output (a definition file): exact bytes into a file or pipe, escaped
/// like a report only when standard output is a terminal.
func printData(_ text: String) {
    guard isatty(STDOUT_FILENO) != 0 else {
        FileHandle.standardOutput.write(Data(text.utf8))
        return
    }
    printOut(text)
}

/// A warning on standard error, escaped like an error message.
func printWarning(_ text: String) {
    printError("warning: " + text)
}
