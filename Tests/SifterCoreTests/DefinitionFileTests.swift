import Foundation
import OCISpec
import Testing
@testable import SifterCore

/// Reads a definition file the way Apptainer's `pkg/build/types/parser/deffile.go` does, so the
/// tests check what Apptainer would see, not what sifter meant to write.
struct ApptainerDefinition {
    var stages = 0
    var header: [String: String] = [:]
    /// Section names in file order (a repeated name shows up twice).
    var order: [String] = []
    var bodies: [String: String] = [:]

    init(_ text: String) {
        var lines = text.unicodeScalars.split(separator: "\n", omittingEmptySubsequences: false).map { String(Substring($0)) }
        if text.hasSuffix("\n") { lines.removeLast() }
        // `All`: a stage starts at every `(?mi)^bootstrap:`; Go's case folding maps ſ to s.
        stages = lines.filter { Self.folded($0).hasPrefix("bootstrap:") }.count
        // `bufio.ScanLines` drops a `\r` before each line feed.
        lines = lines.map { $0.unicodeScalars.last == "\r" ? String($0.unicodeScalars.dropLast()) : $0 }
        var current: String?
        var headerLines: [String] = []
        for line in lines {
            let word = Self.trimmed(line, trailing: false)
            if word.unicodeScalars.first == "%" {
                let name = String(word.unicodeScalars.drop { $0 == "%" }.prefix { $0 != " " }).lowercased()
                order.append(name)
                bodies[name, default: ""] += ""
                current = name
            } else if let current {
                bodies[current, default: ""] += line + "\n"
            } else {
                headerLines.append(line)
            }
        }
        for line in headerLines.map({ Self.trimmed($0) }) where !line.isEmpty && !line.hasPrefix("#") {
            let content = String(line.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false)[0])
            let parts = content.split(separator: ":", maxSplits: 1).map(String.init)
            header[Self.trimmed(parts[0]).lowercased()] = parts.count == 2 ? Self.trimmed(parts[1]) : nil
        }
    }

    /// `GetLabels`: lines trimmed, empty and `#` lines skipped, split at the first space.
    var labels: [String: String] {
        var labels: [String: String] = [:]
        for line in (bodies["labels"] ?? "").split(separator: "\n").map({ Self.trimmed(String($0)) }) where !line.isEmpty && !line.hasPrefix("#") {
            let parts = line.split(separator: " ", maxSplits: 1).map(String.init)
            labels[Self.trimmed(parts[0])] = parts.count == 2 ? Self.trimmed(parts[1]) : ""
        }
        return labels
    }

    static func trimmed(_ text: String, trailing: Bool = true) -> String {
        var scalars = Substring(text).unicodeScalars.drop { $0.properties.isWhitespace }
        while trailing, let last = scalars.last, last.properties.isWhitespace { scalars = scalars.dropLast() }
        return String(Substring(scalars))
    }

    static func folded(_ text: String) -> String {
        text.lowercased().replacingOccurrences(of: "\u{17F}", with: "s")
    }

    /// What Apptainer writes for %runscript/%startscript/%test: `#!/bin/sh\n\n` + body + `\n`.
    func script(_ section: String) -> String {
        "#!/bin/sh\n\n" + (bodies[section] ?? "") + "\n"
    }
}

/// Runs shell text with /bin/sh in a fresh directory; reports whether a hostile value managed
/// to create `INJECTED` there.
func runShell(_ script: String, args: [String] = [], environment: [String: String] = [:]) throws -> (output: String, injected: Bool, directory: String) {
    let directory = NSTemporaryDirectory() + "deffile-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: directory + "/work", withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: directory) }
    let path = directory + "/script"
    try script.write(toFile: path, atomically: true, encoding: .utf8)
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/bin/sh")
    process.arguments = [path] + args
    process.currentDirectoryURL = URL(fileURLWithPath: directory)
    process.environment = ["PATH": "/usr/bin:/bin", "FOO": "bar"].merging(environment) { _, new in new }
    let output = Pipe()
    process.standardOutput = output
    try process.run()
    let data = output.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (String(decoding: data, as: UTF8.self), FileManager.default.fileExists(atPath: directory + "/INJECTED"), directory)
}

@Suite struct DefinitionFileTests {
    static let digest = try? Digest(sha256Hex: String(repeating: "ab", count: 32))
    static let origin = DefinitionFile.Origin(bootstrap: "docker", reference: "registry.example/team/app:1.0", manifestDigest: digest,
                                              platform: Platform(os: "linux", architecture: "amd64"), created: "2024-01-02T03:04:05Z")
    static let pinnedFrom = "registry.example/team/app@sha256:" + String(repeating: "ab", count: 32)
    static let header = """
        Bootstrap: docker
        From: \(pinnedFrom)

        # Generated by sifter from the image's metadata for apptainer build 1.3 and later. Platform linux/amd64, created 2024-01-02T03:04:05Z.
        # From: pins registry.example/team/app:1.0 by digest alone (Apptainer 1.3 and 1.5+ refuse a tag and a digest together); label org.sylabs.sifter.source.reference keeps the reference.

        """
    static let sourceLabel = "    org.sylabs.sifter.source.reference registry.example/team/app:1.0\n"

    static func healthcheck(_ test: [String]) -> ImageConfig.Healthcheck? {
        try? JSONDecoder().decode(ImageConfig.Healthcheck.self, from: JSONEncoder().encode(["Test": test]))
    }

    static func config(_ build: (inout ImageConfig.Config) -> Void) -> ImageConfig.Config {
        var config = ImageConfig.Config()
        build(&config)
        return config
    }

    struct Golden: Sendable, CustomTestStringConvertible {
        let name: String
        let config: ImageConfig.Config?
        var options = DefinitionOptions()
        /// Expected bodies of the sections other than %runscript, which is checked against the
        /// SIF's runscript.
        let sections: [String: String]
        var warnings = 0
        var testDescription: String { name }
    }

    static let goldens: [Golden] = [
        Golden(name: "empty config", config: nil, sections: ["labels": sourceLabel]),
        Golden(name: "entrypoint, cmd, labels with spaces, help", config: config {
            $0.Entrypoint = ["/docker-entrypoint.sh"]
            $0.Cmd = ["nginx", "-g", "daemon off;"]
            $0.User = "nginx"
            $0.ExposedPorts = ["80/tcp": .init(), "443/tcp": .init()]
            $0.Volumes = ["/data": .init()]
            $0.Labels = ["org.opencontainers.image.title": "Web server", "org.opencontainers.image.description": "Serves\n%post pages",
                         "org.opencontainers.image.source": "https://example.com/src", "spaces": "a  b\tc", "quotes": "it's \"q\" $HOME `x` # not a comment",
                         "empty": "", "bootstrap:": "stays a label"]
        }, sections: [
            "help": """
                    Web server
                    Serves
                    \\%post pages

                    Source: https://example.com/src
                    User: nginx (the image's user; Apptainer runs the container as the calling user)
                    Exposed ports: 443/tcp, 80/tcp (Apptainer uses the host's network)
                    Volumes: /data (not created; bind host directories with --bind)\n
                """,
            "labels": """
                    # The image's labels, which the bootstrap copies (repeating them here would only make
                    # apptainer build warn that each already exists):
                    #   bootstrap: stays a label
                    #   empty
                    #   org.opencontainers.image.description Serves\\n%post pages
                    #   org.opencontainers.image.source https://example.com/src
                    #   org.opencontainers.image.title Web server
                    #   quotes it's "q" $HOME `x` # not a comment
                    #   spaces a  b\\tc
                    org.sylabs.sifter.source.reference registry.example/team/app:1.0\n
                """,
        ]),
        Golden(name: "env with quotes, $, backticks, newlines", config: config {
            $0.Env = ["PATH=/opt/bin:/usr/bin", "QUOTES=a \"q\" 'single'", "DOLLAR=$HOME $(touch INJECTED)", "TICKS=`touch INJECTED`",
                      "LINES=one\n%post\nbootstrap: docker\r\nfour\\", "BARE", "EMPTY=", "1BAD=x"]
        }, sections: [
            "labels": sourceLabel,
            "environment": """
                # The image's Env, which the bootstrap also writes to /.singularity.d/env/10-docker2singularity.sh,
                # sourced before this section: each line keeps a value already set (and Apptainer's PATH
                # additions). Apptainer clears the host's environment first, so host variables do not
                # override these; --env, --env-file and APPTAINERENV_NAME do.
                export PATH="${PATH:-"/opt/bin:/usr/bin"}"
                export QUOTES="${QUOTES:-"a \\"q\\" 'single'"}"
                export DOLLAR="${DOLLAR:-"\\$HOME \\$(touch INJECTED)"}"
                export TICKS="${TICKS:-"\\`touch INJECTED\\`"}"
                export LINES="${LINES:-"one""
                ""%post""
                ""bootstrap: docker\r""
                ""four\\\\"}"
                export BARE="${BARE:-}"
                export EMPTY="${EMPTY:-""}"
                # Env entry 1BAD left out: not a shell variable name\n
                """,
        ], warnings: 1),
        Golden(name: "healthcheck CMD-SHELL: a label and a line of help, no %test", config: config {
            $0.Healthcheck = healthcheck(["CMD-SHELL", "curl -f http://localhost/ || exit 1"])
        }, sections: [
            "help": "    Health check: [\"CMD-SHELL\",\"curl -f http://localhost/ || exit 1\"] (Docker's HEALTHCHECK; Apptainer never runs it)\n",
            "labels": sourceLabel + "    org.sylabs.sifter.healthcheck [\"CMD-SHELL\",\"curl -f http://localhost/ || exit 1\"]\n",
        ]),
        Golden(name: "healthcheck NONE", config: config { $0.Healthcheck = healthcheck(["NONE"]) }, sections: ["labels": sourceLabel]),
        Golden(name: "workdir not applied", config: config { $0.WorkingDir = "/srv/app" }, sections: [
            "help": "    Working directory: /srv/app (not applied: Apptainer keeps the caller's directory)\n",
            "labels": sourceLabel,
        ]),
    ]

    @Test(arguments: goldens)
    func golden(_ golden: Golden) throws {
        let definition = DefinitionFile(origin: Self.origin, config: golden.config, options: golden.options)
        #expect(definition.text.hasPrefix(Self.header))
        #expect(definition.warnings.count == golden.warnings, "\(definition.warnings)")
        #expect(definition.unusableReason == nil)
        let parsed = ApptainerDefinition(definition.text)
        #expect(parsed.stages == 1)
        #expect(parsed.header == ["bootstrap": "docker", "from": Self.pinnedFrom])
        let expectedOrder = ["help", "labels", "environment", "runscript"].filter { golden.sections[$0] != nil || $0 == "runscript" }
        #expect(parsed.order == expectedOrder)
        for (name, body) in golden.sections {
            // A body as written ends with the blank line that separates it from the next section.
            let written = parsed.bodies[name] ?? ""
            #expect(written == body || written == body + "\n", "%\(name):\n\(written)")
            #expect(definition.scripts[name] == written)
        }
        // The runscript is the SIF's, byte for byte, when no argument holds a line break.
        let sif = ApptainerFiles.runscript(entrypoint: golden.config?.Entrypoint ?? [], cmd: golden.config?.Cmd ?? [])
        let body = parsed.bodies["runscript"] ?? ""
        #expect(body.trimmingCharacters(in: .newlines).hasSuffix(String(sif.dropFirst("#!/bin/sh\n".count)).trimmingCharacters(in: .newlines)))
        #expect(parsed.labels == definition.labels)
        #expect(try ApptainerRules.substituteBuildVariables(definition.text) == definition.text)
    }

    @Test func headers() throws {
        let other = try Digest(sha256Hex: String(repeating: "cd", count: 32))
        func header(_ origin: DefinitionFile.Origin, _ options: DefinitionOptions = DefinitionOptions()) -> String {
            let text = DefinitionFile(origin: origin, config: nil, options: options).text
            return String(text[..<(text.range(of: "\n%")?.lowerBound ?? text.endIndex)])
        }
        var origin = Self.origin
        #expect(header(origin, DefinitionOptions(pinned: false)).hasPrefix("Bootstrap: docker\nFrom: registry.example/team/app:1.0\n\n"))
        origin.reference = "registry.example/team/app:1.0@\(other)"
        origin.indexDigest = other
        #expect(header(origin) == Self.header.replacingOccurrences(of: "pins registry.example/team/app:1.0 ", with: "pins \(origin.reference) ")
            + "# Index digest: \(other); From names the linux/amd64 manifest in it\n")
        // Unpinned, a reference with a tag and a digest keeps only the digest.
        #expect(header(origin, DefinitionOptions(pinned: false)).hasPrefix("Bootstrap: docker\nFrom: registry.example/team/app@\(other)\n"))
        origin = DefinitionFile.Origin(bootstrap: "oci", reference: "layout:t1", manifestDigest: Self.digest,
                                       platform: Platform(os: "linux", architecture: "arm64", variant: "v8"), created: "2024\n%post")
        #expect(header(origin) == """
            Bootstrap: oci
            From: layout:t1

            # Generated by sifter from the image's metadata for apptainer build 1.3 and later. Platform linux/arm64/v8, created 2024\\n%post.
            # Manifest digest: sha256:\(String(repeating: "ab", count: 32)) (an OCI layout reference cannot name a digest)

            """)
        origin.reference = "dir#1:t1"
        let unusable = DefinitionFile(origin: origin, config: nil)
        #expect(unusable.unusableReason != nil)
        #expect(unusable.from == nil)
        #expect(ApptainerDefinition(unusable.text).header == ["bootstrap": "oci"])
    }

    /// `build` embeds the pinned text as the definition object and /.singularity.d/Singularity,
    /// and applies its sections to the tree as `apptainer build` would.
    @Test func buildEmbedsTheSameText() throws {
        let configJSON = #"{"architecture":"amd64","os":"linux","created":"2024-01-02T03:04:05Z","rootfs":{"type":"layers","diff_ids":[]},"config":{"Cmd":["/bin/sh"],"Env":["A=1"],"Labels":{"org.opencontainers.image.title":"b c"}}}"#
        let config = try ImageConfig.decode(Array(configJSON.utf8))
        let digest = try Digest(sha256Hex: String(repeating: "ab", count: 32))
        let manifest = Manifest(config: Descriptor(mediaType: MediaType.ociConfig, digest: digest, size: Int64(configJSON.utf8.count)), layers: [])
        let image = ResolvedImage(sourceText: "oci:layout:t1", reference: "layout:t1", bootstrap: "oci", registry: nil, repository: nil,
                                  indexDigest: nil, manifestDigest: digest, manifest: manifest, configDigest: digest,
                                  configBytes: Array(configJSON.utf8), config: config, layers: [])
        let metadata = try BuildMetadata(image: image, time: 0)
        let definition = DefinitionFile(image: image)
        #expect(metadata.definition == definition.text)
        func file(_ path: String) -> String? {
            guard case let .file(bytes)? = metadata.runtimeEntries.first(where: { $0.path == path })?.kind else { return nil }
            return String(decoding: bytes, as: UTF8.self)
        }
        #expect(file(".singularity.d/Singularity") == definition.text)
        let parsed = ApptainerDefinition(definition.text)
        // insertHelpScript and insertEnvScript (metadata.go).
        #expect(file(".singularity.d/runscript.help") == (parsed.bodies["help"] ?? "") + "\n")
        #expect(file(".singularity.d/env/90-environment.sh")
            == ApptainerRules.environmentFile(base: RuntimeFiles.files["env/90-environment.sh"] ?? "", environmentScript: parsed.bodies["environment"]))
        #expect(metadata.labels["org.label-schema.usage.singularity.deffile.from"] == "layout:t1")
        #expect(metadata.labels["org.label-schema.usage"] == "/.singularity.d/runscript.help")
        #expect(String(decoding: metadata.inspectMetadata, as: UTF8.self).contains(##""runscript":"#!/bin/sh\n"##))
        #expect(String(decoding: metadata.inspectMetadata, as: UTF8.self).contains(#""helpfile":"    b c","deffile":"Bootstrap: oci"#))
        #expect(try BuildMetadata(image: image, time: 0).definition == definition.text)
    }
}

/// Each %runscript, run as Apptainer writes it, execs what the SIF's runscript execs.
@Suite struct DefinitionScriptTests {
    struct Case: Sendable, CustomTestStringConvertible {
        let name: String
        let entrypoint: [String]
        let cmd: [String]
        var testDescription: String { name }
    }

    static let hostile = ["$(touch INJECTED)", "`touch INJECTED`", "'; touch INJECTED; '", "\"\\", "a\n%post\ntouch INJECTED",
                          "b\nbootstrap: docker\r\nc", "@PREPEND_ENTRYPOINT@\n'; touch INJECTED; '"]
    static let cases: [Case] = [
        Case(name: "entrypoint only", entrypoint: ["printf", "<%s>"], cmd: []),
        Case(name: "cmd only", entrypoint: [], cmd: ["printf", "%s|", "x y"]),
        Case(name: "both", entrypoint: ["printf", "%s|"], cmd: ["d1", "d 2"]),
        Case(name: "neither", entrypoint: [], cmd: []),
        Case(name: "hostile cmd", entrypoint: ["printf", "%s|"], cmd: hostile),
        Case(name: "hostile entrypoint", entrypoint: ["printf", "%s|"] + hostile, cmd: ["@PREPEND_CMD@"]),
        // ApptainerFiles.runscript substitutes placeholders in argument text: there this unquotes the entrypoint.
        Case(name: "placeholder in cmd", entrypoint: ["printf", "%s|", "; touch INJECTED; "], cmd: ["@PREPEND_ENTRYPOINT@\n"]),
    ]
    static let argumentSets: [[String]] = [[], ["printf", "%s;", "u v"], ["$FOO", "w"]]

    @Test(arguments: cases, argumentSets)
    func runscriptExecsLikeTheSIFs(_ example: Case, args: [String]) throws {
        var config = ImageConfig.Config()
        config.Entrypoint = example.entrypoint
        config.Cmd = example.cmd
        let parsed = ApptainerDefinition(DefinitionFile(origin: DefinitionFileTests.origin, config: config).text)
        #expect(parsed.stages == 1)
        #expect(parsed.order == ["labels", "runscript"])
        let script = parsed.script("runscript")
        #expect(script.split(separator: "\n").contains("eval \"set ${SINGULARITY_OCI_RUN}\""))
        let sif = ApptainerFiles.runscript(entrypoint: example.entrypoint, cmd: example.cmd)
        let hostileArgs = (example.entrypoint + example.cmd).contains { $0.contains("@PREPEND") }
        for noEval in [false, true] {
            let environment = noEval ? ["SINGULARITY_NO_EVAL": "1"] : [:]
            let fromDef = try runShell(script, args: args, environment: environment)
            #expect(!fromDef.injected)
            // Apptainer's own semantics: no user arguments → Entrypoint + Cmd; otherwise they replace Cmd.
            let argv = example.entrypoint + (args.isEmpty ? example.cmd : args)
            if argv.first == "printf", noEval || args.allSatisfy({ !$0.contains("$") }) {
                let expected = try runShell("#!/bin/sh\nexec \"$@\"\n", args: argv).output
                #expect(fromDef.output == expected, "no-eval \(noEval)")
            }
            // The SIF's runscript substitutes its placeholders in argument text: compared only without them.
            // With nothing to run, both end in `eval "set "`, which lists the shell's variables (PWD differs).
            if !hostileArgs, !argv.isEmpty {
                let fromSIF = try runShell(sif, args: args, environment: environment).output
                #expect(fromDef.output == fromSIF, "no-eval \(noEval)")
            }
        }
    }

    @Test(arguments: [false, true])
    func workingDirectory(_ apply: Bool) throws {
        var config = ImageConfig.Config()
        config.WorkingDir = "work"  // relative to the directory runShell starts in
        config.Entrypoint = ["/bin/sh", "-c", "pwd"]
        let definition = DefinitionFile(origin: DefinitionFileTests.origin, config: config, options: DefinitionOptions(applyWorkingDir: apply))
        let parsed = ApptainerDefinition(definition.text)
        let result = try runShell(parsed.script("runscript"))
        #expect(result.output.hasSuffix(apply ? "/work\n" : "\(URL(fileURLWithPath: result.directory).lastPathComponent)\n"))
        #expect(parsed.bodies["help"]?.contains(apply ? "the runscript changes to it" : "not applied") == true)
    }

    /// The final environment through Apptainer's action script (`ApptainerRules.actionEnvironment`:
    /// host environment cleared, 10-docker2singularity.sh, `fixpath`, 90-environment.sh): the SIF
    /// sifter builds and the one `apptainer build` makes from the file agree, PATH keeps
    /// Apptainer's additions, and host values override nothing.
    @Test func environmentThroughTheActionScript() throws {
        let env = ["PATH=/opt/bin:/usr/bin:/bin", "PLAIN=value", "TRICKY=a \"q\" $(touch INJECTED) `touch INJECTED` \\ $HOME '",
                   "LINES=x\n%post\ntouch INJECTED\nbootstrap: y\r\nz", "EMPTY=", "BARE", "WITH=equals=inside", "1BAD=x",
                   "BRACES={{ x }} {{.Name}}"]
        var config = ImageConfig.Config()
        config.Env = env
        let definition = DefinitionFile(origin: DefinitionFileTests.origin, config: config)
        let parsed = ApptainerDefinition(try ApptainerRules.substituteBuildVariables(definition.text))
        #expect(parsed.stages == 1)
        #expect(parsed.order == ["labels", "environment", "runscript"])
        func file(_ path: String) -> String {
            let entries = ApptainerFiles.entries(config: config, labels: [:], definition: definition)
            guard case let .file(bytes)? = entries.first(where: { $0.path == path })?.kind else { return "" }
            return String(decoding: bytes, as: UTF8.self)
        }
        let sifScripts = ["10-docker2singularity.sh": file(".singularity.d/env/10-docker2singularity.sh"),
                          "90-environment.sh": file(".singularity.d/env/90-environment.sh")]
        let rebuiltScripts = ["10-docker2singularity.sh": ApptainerRules.dockerEnvironmentScript(env),
                              "90-environment.sh": ApptainerRules.environmentFile(base: "#!/bin/sh\n", environmentScript: parsed.bodies["environment"])]
        let probe = "printf '[%s]\\n' \"$PATH\" \"$PLAIN\" \"$TRICKY\" \"$LINES\" \"$EMPTY\" \"${BARE-unset}\" \"$WITH\" \"$BRACES\"\n"
        let expected = "[/opt/bin:/usr/bin:/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/sbin]\n[value]\n"
            + "[a \"q\" $(touch INJECTED) `touch INJECTED` \\ $HOME ']\n[x\n%post\ntouch INJECTED\nbootstrap: y\r\nz]\n[]\n[]\n[equals=inside]\n"
            + "[{{ x }} {{.Name}}]\n"
        for host in [[:], ["PLAIN": "host", "PATH": "/host/bin", "LINES": "host lines", "EMPTY": "e"]] {
            let cleared = "unset FOO PATH \(host.keys.sorted().joined(separator: " "))\n"
            let fromSIF = try runShell(cleared + ApptainerRules.actionEnvironment(sifScripts) + probe, environment: host)
            let fromDef = try runShell(cleared + ApptainerRules.actionEnvironment(rebuiltScripts) + probe, environment: host)
            #expect(!fromDef.injected && !fromSIF.injected)
            #expect(fromSIF.output == expected)
            #expect(fromDef.output == expected)
        }
    }

    /// A HEALTHCHECK is not a %test (Apptainer runs %test at the end of every build unless
    /// --notest: `stage.go` `runTestScript`), whatever its kind.
    @Test(arguments: [["CMD", "curl", "-f", "http://localhost/"], ["CMD-SHELL", "exit 1"], ["SOMETIMES", "x"], ["CMD"]])
    func healthcheckIsNoTest(_ test: [String]) throws {
        var config = ImageConfig.Config()
        config.Healthcheck = DefinitionFileTests.healthcheck(test)
        let definition = DefinitionFile(origin: DefinitionFileTests.origin, config: config)
        let parsed = ApptainerDefinition(definition.text)
        #expect(parsed.bodies["test"] == nil)
        #expect(definition.warnings.isEmpty)
        let label = try #require(parsed.labels[DefinitionFile.Label.healthcheck])
        #expect(try JSONDecoder().decode([String].self, from: Data(label.utf8)) == test)
        #expect(parsed.bodies["help"]?.contains("Health check: ") == true)
    }
}
