import OCISpec

/// The sections, each from one part of the image config.
extension DefinitionWriter {
    /// %help: for people, so values are shown (control characters escaped), not reproduced.
    mutating func help(_ origin: DefinitionFile.Origin) {
        let labels = config.Labels ?? [:]
        func label(_ keys: String...) -> String? {
            keys.lazy.compactMap { labels[$0] }.first { !$0.isEmpty }
        }
        var lines: [String] = []
        for text in [label("org.opencontainers.image.title", "org.label-schema.name"),
                     label("org.opencontainers.image.description", "org.label-schema.description")].compactMap({ $0 }) {
            lines += Self.lines(text).map(DefinitionText.helpLine)
        }
        var facts: [String] = []
        if let source = label("org.opencontainers.image.source", "org.label-schema.vcs-url") { facts.append("Source: \(source)") }
        if let url = label("org.opencontainers.image.url", "org.label-schema.url") { facts.append("URL: \(url)") }
        if let user = config.User, !user.isEmpty {
            facts.append("User: \(user) (the image's user; Apptainer runs the container as the calling user)")
        }
        if let directory = config.WorkingDir, !directory.isEmpty {
            let applied = options.applyWorkingDir ? "the runscript changes to it" : "not applied: Apptainer keeps the caller's directory"
            facts.append("Working directory: \(directory) (\(applied))")
        }
        if let ports = config.ExposedPorts, !ports.isEmpty {
            facts.append("Exposed ports: \(ports.keys.sorted().joined(separator: ", ")) (Apptainer uses the host's network)")
        }
        if let volumes = config.Volumes, !volumes.isEmpty {
            facts.append("Volumes: \(volumes.keys.sorted().joined(separator: ", ")) (not created; bind host directories with --bind)")
        }
        if !lines.isEmpty, !facts.isEmpty { lines.append("") }
        lines += facts.map(DefinitionText.helpLine)
        guard !lines.isEmpty else { return }
        add("help", lines.map { $0.isEmpty ? "\n" : $0 + "\n" }.joined())
    }

    /// %labels: `KEY VALUE`, verbatim, indented (which also keeps a `bootstrap:` key off column
    /// 0). Apptainer trims each line and splits it at the first space, so a value with a line
    /// break or with white space at either end, and a key with a space or starting with `#` or
    /// `%`, cannot be written; they are left out with a comment. Nothing is lost in the built
    /// image: the docker and oci bootstraps copy the image's labels themselves.
    mutating func labels() {
        guard let labels = config.Labels, !labels.isEmpty else { return }
        var body = ""
        for (key, value) in labels.sorted(by: { $0.key < $1.key }) {
            if let problem = DefinitionText.labelProblem(key: key, value: value) {
                let shown = "\"" + DefinitionText.visible(key) + "\""
                warn("label \(shown) is not in %labels: \(problem)")
                body += "    # label \(shown) left out: \(problem); the bootstrap copies it from the image\n"
            } else {
                body += value.isEmpty ? "    \(key)\n" : "    \(key) \(value)\n"
            }
        }
        add("labels", body)
    }

    /// %environment: the rules of `ApptainerFiles.environmentScript` (PATH forced, the others
    /// defaults that the host's values override, names a shell cannot hold skipped), with line
    /// breaks guarded so no value can start a section.
    mutating func environment() {
        guard let env = config.Env, !env.isEmpty else { return }
        var body = "# The image's Env: PATH is set, the others are defaults that the host's values override.\n"
        for element in env {
            let parts = element.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
            let name = parts[0]
            guard ShellQuoting.isVariableName(name) else {
                let shown = DefinitionText.visible(name)
                warn("Env entry \(shown) is not in %environment: not a shell variable name")
                body += "# Env entry \(shown) left out: not a shell variable name\n"
                continue
            }
            if parts.count == 1 {
                body += "export \(name)=\"${\(name):-}\"\n"
            } else if name == "PATH" {
                body += "export PATH=\"\(DefinitionText.doubleQuotedBody(parts[1]))\"\n"
            } else {
                body += "export \(name)=\"${\(name):-\"\(DefinitionText.doubleQuotedBody(parts[1]))\"}\"\n"
            }
        }
        add("environment", body)
    }

    /// %runscript and %startscript: the SIF's runscript (`ApptainerFiles.runscript`, same
    /// template, same quoting) without its shebang, so the two behave the same in Apptainer's
    /// default mode and under --no-eval, and Apptainer still finds the exact `eval` line that
    /// makes it run the script in its own shell interpreter (images without /bin/sh).
    mutating func scripts() {
        var prefix = ""
        if let directory = config.WorkingDir, !directory.isEmpty {
            if options.applyWorkingDir {
                // A leading `-` would read as an option of cd.
                let path = directory.hasPrefix("-") ? "./" + directory : directory
                prefix = "cd \(DefinitionText.singleQuoted(path)) || exit 1\n"
            } else {
                prefix = "# The image's WorkingDir is \(DefinitionText.visible(directory)); Apptainer does not apply it "
                    + "and runs in the caller's directory (sifter def --workdir adds a cd here).\n"
            }
        }
        let body = prefix + Self.runscriptBody(entrypoint: config.Entrypoint ?? [], cmd: config.Cmd ?? [])
        add("runscript", body)
        add("startscript", body)
    }

    /// `ApptainerFiles.runscript` minus `#!/bin/sh\n`, with `DefinitionText.singleQuoted`. The
    /// placeholders are replaced in one pass over the template's lines, so an argument that
    /// contains a placeholder's text is never itself substituted.
    static func runscriptBody(entrypoint: [String], cmd: [String]) -> String {
        var text = "OCI_ENTRYPOINT=\(DefinitionText.singleQuoted(ShellQuoting.argsQuoted(entrypoint)))\n"
        text += "OCI_CMD=\(DefinitionText.singleQuoted(ShellQuoting.argsQuoted(cmd)))\n"
        let template = RuntimeFiles.files["runscript.template"] ?? ""
        for line in template.split(separator: "\n", omittingEmptySubsequences: false).dropLast(template.hasSuffix("\n") ? 1 : 0) {
            switch line {
            case "@PREPEND_CMD@": text += prependLines(cmd, indent: "            ")
            case "@PREPEND_ENTRYPOINT@": text += prependLines(entrypoint, indent: "        ")
            default: text += line + "\n"
            }
        }
        return text
    }

    /// `set -- 'arg' "$@"` lines, last argument first, so that they prepend in order.
    static func prependLines(_ arguments: [String], indent: String) -> String {
        arguments.reversed().map { "\(indent)set -- \(DefinitionText.singleQuoted($0)) \"$@\"\n" }.joined()
    }

    /// %test from HEALTHCHECK: `CMD` runs its arguments, `CMD-SHELL` runs its text with the
    /// image's Shell (default `/bin/sh -c`), as Docker does; `NONE` or no test means no section.
    mutating func test() {
        guard let test = config.Healthcheck?.Test, let kind = test.first, kind != "NONE" else { return }
        let argv: [String]
        switch kind {
        case "CMD":
            argv = Array(test.dropFirst())
        case "CMD-SHELL":
            let shell = (config.Shell?.isEmpty == false ? config.Shell : nil) ?? ["/bin/sh", "-c"]
            argv = test.count > 1 ? shell + [test.dropFirst().joined(separator: " ")] : []
        default:
            warn("HEALTHCHECK test kind \(DefinitionText.visible(kind)) is not CMD, CMD-SHELL or NONE: no %test")
            return
        }
        guard !argv.isEmpty else {
            warn("HEALTHCHECK \(DefinitionText.visible(kind)) has no command: no %test")
            return
        }
        var body = "# The image's HEALTHCHECK. apptainer build runs %test at the end of the build (--notest skips it).\n"
        body += "exec " + argv.map(DefinitionText.singleQuoted).joined(separator: " ") + "\n"
        add("test", body)
    }

    /// Splits at line feeds only (a `\r\n` pair is one Swift Character but two lines' worth of
    /// characters here; the `\r` is kept and shown escaped).
    static func lines(_ text: String) -> [String] {
        text.unicodeScalars.split(separator: "\n", omittingEmptySubsequences: false).map { String(Substring($0)) }
    }
}
