import OCISpec

/// One file, directory or symlink sifter adds to the image tree, as `apptainer build` does.
public struct RuntimeEntry: Equatable, Sendable {
    public enum Kind: Equatable, Sendable {
        case file([UInt8])
        case directory
        case symlink(String)
    }

    /// When the image already has something at this path.
    public enum Policy: Equatable, Sendable {
        /// Apptainer's own files: always written, replacing the image's.
        case replace
        /// Standard directories: kept as the image has them.
        case ifMissing
        /// Convenience symlinks: written where the path is missing or already a symlink.
        case ifMissingOrSymlink
        /// /etc/hosts and /etc/resolv.conf: written where a symlink at the path leads (inside
        /// the root), keeping the link, as Apptainer's `makeFile` does through its `os.Root`.
        case replaceThroughSymlink
        /// /.singularity.d/Singularity: an existing one is moved to `directory/prefixN` first
        /// (N = entries already there), as Apptainer's `insertDefinition` does.
        case replaceKeepingHistory(directory: String, prefix: String)
    }

    /// Path relative to the root, without a leading slash.
    public var path: String
    public var kind: Kind
    public var mode: UInt32
    public var policy: Policy
}

/// The files Apptainer adds to every image built from an OCI source (`makeBaseEnv`,
/// `insertRunScript`, `insertEnv`, `insertOCILabels`, `createAllApps`, the metadata stage),
/// generated from the image config and the definition file the SIF embeds. The script texts are
/// sifter's own (defs/runtime), with Apptainer's behaviour. The definition's sections are
/// applied as `apptainer build` applies them, so building from that file gives the same tree.
public enum ApptainerFiles {
    /// Everything to add, in a fixed order, for `config` and the definition file.
    public static func entries(config: ImageConfig.Config?, labels: [String: String], definition: DefinitionFile) -> [RuntimeEntry] {
        var entries: [RuntimeEntry] = []
        for directory in ["dev", "proc", "root", "var", "var/tmp", "tmp", "etc", "sys", "home",
                          ".singularity.d", ".singularity.d/libs", ".singularity.d/actions", ".singularity.d/env"] {
            entries.append(RuntimeEntry(path: directory, kind: .directory, mode: 0o755, policy: .ifMissing))
        }
        let symlinks = [
            ("singularity", ".singularity.d/runscript"), (".run", ".singularity.d/actions/run"),
            (".exec", ".singularity.d/actions/exec"), (".test", ".singularity.d/actions/test"),
            (".shell", ".singularity.d/actions/shell"), ("environment", ".singularity.d/env/90-environment.sh"),
        ]
        for (name, target) in symlinks {
            entries.append(RuntimeEntry(path: name, kind: .symlink(target), mode: 0o777, policy: .ifMissingOrSymlink))
        }
        func file(_ path: String, _ text: String, mode: UInt32 = 0o755, policy: RuntimeEntry.Policy = .replace) {
            entries.append(RuntimeEntry(path: path, kind: .file(Array(text.utf8)), mode: mode, policy: policy))
        }
        file("etc/hosts", "", mode: 0o644, policy: .replaceThroughSymlink)
        file("etc/resolv.conf", "", mode: 0o644, policy: .replaceThroughSymlink)
        for action in ["exec", "run", "shell", "start", "test"] {
            file(".singularity.d/actions/\(action)", RuntimeFiles.files["actions/\(action)"] ?? "")
        }
        for script in ["01-base.sh", "95-apps.sh", "99-base.sh", "99-runtimevars.sh"] {
            file(".singularity.d/env/\(script)", RuntimeFiles.files["env/\(script)"] ?? "")
        }
        // `insertEnvScript` appends %environment to the base file.
        let environment = definition.scripts["environment"].map { "\n" + $0 + "\n" } ?? ""
        file(".singularity.d/env/90-environment.sh", (RuntimeFiles.files["env/90-environment.sh"] ?? "") + environment)
        // `createAllApps` writes it for every build, empty without SCIF apps.
        file(".singularity.d/env/94-appsbase.sh", "")
        file(".singularity.d/env/10-docker2singularity.sh", environmentScript(config?.Env ?? []))
        file(".singularity.d/runscript", runscript(entrypoint: config?.Entrypoint ?? [], cmd: config?.Cmd ?? []))
        file(".singularity.d/startscript", RuntimeFiles.files["startscript"] ?? "#!/bin/sh\n")
        if let help = helpFile(definition) {
            file(".singularity.d/runscript.help", help, mode: 0o644)
        }
        file(".singularity.d/labels.json", labelsJSON(labels), mode: 0o644)
        file(".singularity.d/Singularity", definition.text, mode: 0o644,
             policy: .replaceKeepingHistory(directory: ".singularity.d/bootstrap_history", prefix: "Apptainer"))
        return entries
    }

    /// /.singularity.d/runscript.help as `insertHelpScript` writes it from %help, if any.
    public static func helpFile(_ definition: DefinitionFile) -> String? {
        guard let help = definition.scripts["help"], !help.isEmpty else { return nil }
        return help + "\n"
    }

    /// `/.singularity.d/runscript` for an OCI Entrypoint and Cmd, with Apptainer's semantics.
    /// The same body as the definition file's %runscript, so the two cannot drift apart.
    public static func runscript(entrypoint: [String], cmd: [String]) -> String {
        "#!/bin/sh\n" + DefinitionWriter.runscriptBody(entrypoint: entrypoint, cmd: cmd)
    }

    /// `/.singularity.d/env/10-docker2singularity.sh` (`insertEnv`): PATH is set outright, every
    /// other variable as `${NAME:-value}`, which keeps a value set by an earlier script (the
    /// action script clears the host's environment first, so host values never get here);
    /// names a shell cannot hold are skipped.
    public static func environmentScript(_ env: [String]) -> String {
        var text = "#!/bin/sh\n"
        for element in env {
            let parts = element.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
            let name = parts[0]
            guard ShellQuoting.isVariableName(name) else { continue }
            if parts.count == 1 {
                text += "export \(name)=\"${\(name):-}\"\n"
            } else if name == "PATH" {
                text += "export PATH=\"\(ShellQuoting.doubleQuoteEscaped(parts[1]))\"\n"
            } else {
                text += "export \(name)=\"${\(name):-\"\(ShellQuoting.doubleQuoteEscaped(parts[1]))\"}\"\n"
            }
        }
        return text
    }

    /// labels.json: tab-indented, sorted keys, as Apptainer writes it.
    public static func labelsJSON(_ labels: [String: String]) -> String {
        JSONValue.object(labels.sorted { $0.key < $1.key }.map { ($0.key, .string($0.value)) }).rendered(indentString: "\t")
    }
}

/// Shell quoting as Apptainer's `internal/pkg/util/shell` does it.
public enum ShellQuoting {
    /// Backslash-escapes the characters special inside double quotes: \ " ` $.
    public static func doubleQuoteEscaped(_ text: String) -> String {
        var out = ""
        for character in text {
            if "\\\"`$".contains(character) { out.append("\\") }
            out.append(character)
        }
        return out
    }

    /// Each argument double-quoted and escaped, joined by spaces (`ArgsQuoted`).
    public static func argsQuoted(_ arguments: [String]) -> String {
        arguments.map { "\"" + doubleQuoteEscaped($0) + "\"" }.joined(separator: " ")
    }

    /// Makes text safe inside single quotes: `'` becomes `'"'"'`.
    public static func singleQuoteEscaped(_ text: String) -> String {
        text.replacingEvery("'", with: "'\"'\"'")
    }

    /// `^[a-zA-Z_][a-zA-Z0-9_]*$`
    public static func isVariableName(_ name: String) -> Bool {
        guard let first = name.unicodeScalars.first, first == "_" || (first.isASCII && first.properties.isAlphabetic) else { return false }
        return name.unicodeScalars.allSatisfy { $0 == "_" || ($0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0))) }
    }
}

extension String {
    /// Replaces every occurrence of `target` (Foundation-free, so the core types stay portable).
    func replacingEvery(_ target: String, with replacement: String) -> String {
        guard !target.isEmpty else { return self }
        var out = ""
        var rest = Substring(self)
        while let range = rest.firstRange(of: target) {
            out += rest[..<range.lowerBound]
            out += replacement
            rest = rest[range.upperBound...]
        }
        return out + rest
    }
}
