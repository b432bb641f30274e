import ArgumentParser
import Foundation
import SIF
import SifterCore

@main
struct Sifter: ParsableCommand {
    static let version = "0.1.0"

    static let configuration = CommandConfiguration(
        commandName: "sifter",
        abstract: "Turn OCI container images into Apptainer SIF files, inspect and edit SIF files.",
        version: version,
        subcommands: [Build.self, Inspect.self, SIFCommand.self]
    )

    /// Errors become a one-line message on stderr and an exit code; usage errors keep
    /// ArgumentParser's own handling (exit 64).
    static func main() {
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch let error as SIFError {
            if case .io = error { fail(error.description, code: ExitStatus.failure) }
            fail(error.description, code: ExitStatus.badInput)
        } catch let error as SifterError {
            fail(error.description, code: ExitStatus.failure)
        } catch {
            exit(withError: error)
        }
    }

    static func fail(_ message: String, code: Int32) -> Never {
        FileHandle.standardError.write(Data("sifter: \(message)\n".utf8))
        Foundation.exit(code)
    }
}

/// Exit statuses documented in the README.
enum ExitStatus {
    static let failure: Int32 = 1
    /// The input file is not a valid SIF (damaged, truncated, wrong magic or version).
    static let badInput: Int32 = 65
}

func printOut(_ text: String) {
    FileHandle.standardOutput.write(Data(text.utf8))
}
