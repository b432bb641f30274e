import OCISpec

/// The sections, each from one part of the image config.
extension DefinitionWriter {
    /// %help: for people, so values are shown (control characters escaped), not reproduced.
    /// Apptainer writes it to /.singularity.d/runscript.help (`apptainer run-help`).
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
        if let healthcheck = Self.healthcheckJSON(config.Healthcheck) {
            facts.append("Health check: \(healthcheck) (Docker's HEALTHCHECK; Apptainer never runs it)")
        }
        if !lines.isEmpty, !facts.isEmpty { lines.append("") }
        lines += facts.map(DefinitionText.helpLine)
        guard !lines.isEmpty else { return }
        add("help", lines.map { $0.isEmpty ? "\n" : $0 + "\n" }.joined())
    }

    /// %labels: only the labels sifter adds. The docker and oci bootstraps copy the image's own
    /// labels into the container before %labels is applied, and Apptainer's `insertLabelsJSON`
    /// warns once for every %labels key that already exists, so the image's labels are listed
    /// as comments only (values shortened, control characters escaped).
    mutating func labels(_ origin: DefinitionFile.Origin) {
        var body = ""
        let imageLabels = (config.Labels ?? [:]).sorted { $0.key < $1.key }
        if !imageLabels.isEmpty {
            body += "    # The image's labels, which the bootstrap copies (repeating them here would only make\n"
            body += "    # apptainer build warn that each already exists):\n"
            for (key, value) in imageLabels {
                body += "    #   " + DefinitionText.visible(key) + (value.isEmpty ? "" : " " + Self.shown(value)) + "\n"
            }
        }
        var own: [(String, String)] = []
        if origin.bootstrap == "docker", let from, from != origin.reference {
            own.append((DefinitionFile.Label.sourceReference, origin.reference))
        }
        if let healthcheck = Self.healthcheckJSON(config.Healthcheck) {
            own.append((DefinitionFile.Label.healthcheck, healthcheck))
        }
        for (key, value) in own {
            if let problem = DefinitionText.labelProblem(key: key, value: value) {
                warn("label \(key) is not in %labels: \(problem)")
                body += "    # label \(key) left out: \(problem)\n"
            } else {
                body += "    \(key) \(value)\n"
                labelValues[key] = value
            }
        }
        guard !body.isEmpty else { return }
        add("labels", body)
    }

    /// A value shown in a comment: at most 200 characters of it, made visible (a build variable
    /// cut open at the end included); the rest is counted, not shown.
    static func shown(_ text: String) -> String {
        let scalars = Array(text.unicodeScalars)
        guard scalars.count > 200 else { return DefinitionText.visible(text) }
        return DefinitionText.visible(String(String.UnicodeScalarView(scalars[..<200]))) + " … (\(scalars.count - 200) more characters)"
    }

    /// The HEALTHCHECK test as Docker stores it (`["CMD-SHELL", "…"]`), compact JSON on one line,
    /// with `{` written `\u007b` where it would start a build variable; nil for none or `NONE`.
    static func healthcheckJSON(_ healthcheck: ImageConfig.Healthcheck?) -> String? {
        guard let test = healthcheck?.Test, let kind = test.first, kind != "NONE" else { return nil }
        let json = JSONValue.array(test.map { .string($0) }).rendered(indentString: "")
        return DefinitionText.breakBuildVariables(json, replacingWith: "\\u007b")
    }

    /// %environment: the image's Env as defaults only. The docker and oci bootstraps already
    /// write it to /.singularity.d/env/10-docker2singularity.sh (`insertEnv`), which the action
    /// script sources, then completes PATH with Apptainer's default directories (`fixpath`),
    /// before 90-environment.sh, where this section goes (`insertEnvScript`). Setting a value
    /// outright here would undo that (a PATH without /usr/local/sbin…); as `${NAME:-value}`
    /// every line keeps what is already set, so the final environment is the one of
    /// `apptainer build x.sif docker://…`, and of the SIF sifter builds.
    mutating func environment() {
        guard let env = config.Env, !env.isEmpty else { return }
        var body = "# The image's Env, which the bootstrap also writes to /.singularity.d/env/10-docker2singularity.sh,\n"
        body += "# sourced before this section: each line keeps a value already set (and Apptainer's PATH\n"
        body += "# additions). Apptainer clears the host's environment first, so host variables do not\n"
        body += "# override these; --env, --env-file and APPTAINERENV_NAME do.\n"
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
            } else {
                body += "export \(name)=\"${\(name):-\"\(DefinitionText.doubleQuotedBody(parts[1]))\"}\"\n"
            }
        }
        add("environment", body)
    }

    /// %runscript: the SIF's runscript (`ApptainerFiles.runscript`, same template, same
    /// quoting) without its shebang, so the two behave the same in Apptainer's default mode and
    /// under --no-eval, and Apptainer still finds the exact `eval` line that makes it run the
    /// script in its own shell interpreter (images without /bin/sh). No %startscript: an
    /// image built by `apptainer build x.sif docker://…` (and by sifter) has Apptainer's empty
    /// one, so `apptainer instance start` runs nothing; `apptainer instance run` runs this.
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
        add("runscript", prefix + Self.runscriptBody(entrypoint: config.Entrypoint ?? [], cmd: config.Cmd ?? []))
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

    /// Splits at line feeds only (a `\r\n` pair is one Swift Character but two lines' worth of
    /// characters here; the `\r` is kept and shown escaped).
    static func lines(_ text: String) -> [String] {
        text.unicodeScalars.split(separator: "\n", omittingEmptySubsequences: false).map { String(Substring($0)) }
    }
}
