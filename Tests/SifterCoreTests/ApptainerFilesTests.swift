import Foundation
import OCISpec
import Testing
@testable import SifterCore

/// Runs the generated runscript with the real /bin/sh and checks the argv the final `exec`
/// receives, in Apptainer's default (eval) mode and with SINGULARITY_NO_EVAL.
@Suite struct RunscriptTests {
    struct Case: Sendable, CustomTestStringConvertible {
        let name: String
        let entrypoint: [String]
        let cmd: [String]
        let args: [String]
        let expected: String
        var testDescription: String { name }
    }

    static let cases: [Case] = [
        Case(name: "entrypoint only, no args", entrypoint: ["printf", "<%s>"], cmd: [], args: [], expected: "<>"),
        Case(name: "entrypoint only, args", entrypoint: ["printf", "<%s>"], cmd: [], args: ["a b", "c"], expected: "<a b><c>"),
        Case(name: "cmd only, no args", entrypoint: [], cmd: ["printf", "%s|", "x y"], args: [], expected: "x y|"),
        Case(name: "cmd only, args replace cmd", entrypoint: [], cmd: ["printf", "%s|", "x"], args: ["printf", "%s;", "u v"], expected: "u v;"),
        Case(name: "both, no args", entrypoint: ["printf", "%s|"], cmd: ["d1", "d 2"], args: [], expected: "d1|d 2|"),
        Case(name: "both, args replace cmd", entrypoint: ["printf", "%s|"], cmd: ["d1"], args: ["u"], expected: "u|"),
        Case(name: "neither, args", entrypoint: [], cmd: [], args: ["printf", "%s", "z"], expected: "z"),
        Case(name: "metadata cannot inject", entrypoint: ["printf", "%s|"], cmd: ["$(touch INJECTED)", "`touch INJECTED`", "'; touch INJECTED; '", "\"\\"], args: [],
             expected: "$(touch INJECTED)|`touch INJECTED`|'; touch INJECTED; '|\"\\|"),
        // A template placeholder inside metadata must stay text (it once got the entrypoint pasted in).
        Case(name: "placeholder text in cmd", entrypoint: ["printf", "%s|", "; touch INJECTED; "], cmd: ["@PREPEND_ENTRYPOINT@\n"], args: [],
             expected: "; touch INJECTED; |@PREPEND_ENTRYPOINT@\n|"),
    ]

    func run(_ script: String, args: [String], noEval: Bool) throws -> (String, Bool) {
        let directory = NSTemporaryDirectory() + "runscript-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/runscript"
        try script.write(toFile: path, atomically: true, encoding: .utf8)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = [path] + args
        process.currentDirectoryURL = URL(fileURLWithPath: directory)
        var environment = ["PATH": "/usr/bin:/bin", "FOO": "bar"]
        if noEval { environment["SINGULARITY_NO_EVAL"] = "1" }
        process.environment = environment
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let injected = FileManager.default.fileExists(atPath: directory + "/INJECTED")
        return (String(decoding: data, as: UTF8.self), injected)
    }

    @Test(arguments: cases, [false, true])
    func execsTheOCICommandLine(_ example: Case, noEval: Bool) throws {
        let script = ApptainerFiles.runscript(entrypoint: example.entrypoint, cmd: example.cmd)
        #expect(script.split(separator: "\n").contains("eval \"set ${SINGULARITY_OCI_RUN}\""))
        let (output, injected) = try run(script, args: example.args, noEval: noEval)
        #expect(output == example.expected)
        #expect(!injected)
    }

    @Test func userArgumentsAreEvaluatedOnlyWithoutNoEval() throws {
        let script = ApptainerFiles.runscript(entrypoint: ["printf", "%s"], cmd: [])
        #expect(try run(script, args: ["$FOO"], noEval: false).0 == "bar")
        #expect(try run(script, args: ["$FOO"], noEval: true).0 == "$FOO")
    }

    @Test func environmentScriptQuotesAndPrecedence() throws {
        let script = ApptainerFiles.environmentScript([
            "PATH=/opt/bin:/usr/bin", "PLAIN=value", "TRICKY=a \"q\" $(touch INJECTED) `x` \\ $HOME", "EMPTY=", "BARE",
            "1BAD=x", "WITH=equals=inside",
        ])
        #expect(!script.contains("1BAD"))
        // Source it twice: once clean, once with PLAIN and PATH already set by an earlier script
        // (the host's own values never get here: Apptainer clears its environment first).
        let probe = script + "printf '%s\\n' \"$PATH\" \"$PLAIN\" \"$TRICKY\" \"[$EMPTY]\" \"[$BARE]\" \"$WITH\"\n"
        let (clean, injected) = try run(probe, args: [], noEval: false)
        #expect(!injected)
        #expect(clean == "/opt/bin:/usr/bin\nvalue\na \"q\" $(touch INJECTED) `x` \\ $HOME\n[]\n[]\nequals=inside\n")
        let overridden = "PLAIN=host; PATH=/host/bin\n" + probe
        let (output, _) = try run(overridden, args: [], noEval: false)
        #expect(output.hasPrefix("/opt/bin:/usr/bin\nhost\n"))
    }

    @Test func runtimeTreeHasApptainersFiles() throws {
        var config = ImageConfig.Config()
        config.Cmd = ["/bin/sh"]
        let definition = DefinitionFile(origin: DefinitionFileTests.origin, config: config)
        let entries = ApptainerFiles.entries(config: config, labels: ["b": "2", "a": "1"], definition: definition)
        let paths = Set(entries.map(\.path))
        for required in [".singularity.d/actions/exec", ".singularity.d/actions/run", ".singularity.d/actions/shell",
                         ".singularity.d/actions/start", ".singularity.d/actions/test", ".singularity.d/env/01-base.sh",
                         ".singularity.d/env/10-docker2singularity.sh", ".singularity.d/env/90-environment.sh",
                         ".singularity.d/env/94-appsbase.sh",
                         ".singularity.d/env/95-apps.sh", ".singularity.d/env/99-base.sh", ".singularity.d/env/99-runtimevars.sh",
                         ".singularity.d/runscript", ".singularity.d/startscript", ".singularity.d/labels.json",
                         ".singularity.d/Singularity", "singularity", "environment", ".run", ".exec", ".shell", ".test",
                         "proc", "sys", "dev", "tmp", "var/tmp", "home", "root", "etc", "etc/hosts", "etc/resolv.conf"] {
            #expect(paths.contains(required), "\(required)")
        }
        let labels = entries.first { $0.path == ".singularity.d/labels.json" }
        #expect(labels?.kind == .file(Array("{\n\t\"a\": \"1\",\n\t\"b\": \"2\"\n}".utf8)))
        #expect(entries.first { $0.path == "etc/hosts" }?.kind == .file([]))
        // `makeFile` (base_environment.go) writes through a symlink; `insertDefinition`
        // (metadata.go) keeps an image's definition in bootstrap_history; `createAllApps`
        // (apps/apps.go) writes an empty 0755 94-appsbase.sh.
        #expect(entries.first { $0.path == "etc/hosts" }?.policy == .replaceThroughSymlink)
        #expect(entries.first { $0.path == "etc/resolv.conf" }?.policy == .replaceThroughSymlink)
        #expect(entries.first { $0.path == ".singularity.d/Singularity" }?.policy
            == .replaceKeepingHistory(directory: ".singularity.d/bootstrap_history", prefix: "Apptainer"))
        let appsBase = entries.first { $0.path == ".singularity.d/env/94-appsbase.sh" }
        #expect(appsBase?.kind == .file([]) && appsBase?.mode == 0o755)
        // No %startscript in the file, so both keep Apptainer's empty start script.
        #expect(ApptainerDefinition(definition.text).bodies["startscript"] == nil)
        #expect(entries.first { $0.path == ".singularity.d/startscript" }?.kind == .file(Array((RuntimeFiles.files["startscript"] ?? "").utf8)))
        #expect(entries.first { $0.path == "singularity" }?.kind == .symlink(".singularity.d/runscript"))
    }

    /// defs/runtime is the source of truth; the embedded copy must match it.
    @Test func embeddedRuntimeFilesMatchDefs() throws {
        let defs = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../defs/runtime").standardizedFileURL
        let enumerator = FileManager.default.enumerator(atPath: defs.path)
        var onDisk: [String: String] = [:]
        while let relative = enumerator?.nextObject() as? String {
            var isDirectory: ObjCBool = false
            let full = defs.appendingPathComponent(relative).path
            if FileManager.default.fileExists(atPath: full, isDirectory: &isDirectory), !isDirectory.boolValue {
                onDisk[relative] = try String(contentsOfFile: full, encoding: .utf8)
            }
        }
        #expect(!onDisk.isEmpty)
        #expect(onDisk == RuntimeFiles.files, "run integration/embed-defs.py")
    }
}

/// The action scripts use shell builtins only, so they work in an image whose only program is
/// a shell (dash, busybox sh): run with dash and an empty PATH, nothing may be "not found".
/// `start` is left out: it signals PID 1, which outside a container is the host's init.
@Suite struct ActionScriptTests {
    @Test(arguments: ["exec", "run", "shell", "test"])
    func runWithAnEmptyPath(_ action: String) throws {
        let directory = NSTemporaryDirectory() + "action-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/" + action
        try (RuntimeFiles.files["actions/\(action)"] ?? "").write(toFile: path, atomically: true, encoding: .utf8)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/dash")
        // exec runs its arguments; run and shell hand them to a shell (there is no runscript here).
        let arguments = ["exec": ["/bin/dash", "-c", "echo ran"], "run": ["-c", "echo ran"], "shell": ["-c", "echo ran"]]
        process.arguments = [path] + (arguments[action] ?? [])
        process.environment = ["PATH": ""]
        let output = Pipe()
        let errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        let out = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        let err = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(err == "", "\(action): \(err)")
        #expect(process.terminationStatus == 0)
        if action != "test" { #expect(out.hasSuffix("ran\n")) }
    }
}
