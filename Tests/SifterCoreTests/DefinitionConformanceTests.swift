import Foundation
import OCISpec
import Testing
@testable import SifterCore

/// The definition file against Apptainer's own rules (`ApptainerRules`), one table per rule,
/// with hostile metadata in every place the file shows it.
@Suite struct DefinitionConformanceTests {
    /// Text that reads as a build variable, nearly does, or must be left alone (`{{.Name}}`).
    static let braces = [
        "{{x}}", "{{ x }}", "{{\tX_1\n}}", "a{{", "}}b", "{{{x}}}", "{{.Name}}", "{{ .Name }}", "{{x}}{{y}}", "# {{x}}",
        "#!{{x}}", "%post {{x}}", "{{x\n}}", "{{\n", "x}}", "'{{x}}'", "\"{{x}}\"", "$({{x}})", "{{x}}\\", "line\n%post\n{{x}}",
        "{{", "}}", "{{}}", "{{ }}", "{{x}", "{{ x }} # c", "\r\n{{x}}\r\n",
    ]

    enum Place: String, CaseIterable, Sendable {
        case entrypoint, cmd, envValue, labelKey, labelValue, title, description, workingDir, user, port, volume, healthcheck, created
    }

    struct Case: Sendable, CustomTestStringConvertible {
        let place: Place
        let value: String
        var testDescription: String { "\(place.rawValue) \(value.debugDescription)" }
    }

    static let cases: [Case] = Place.allCases.flatMap { place in braces.map { Case(place: place, value: $0) } }

    static func definition(_ example: Case) -> (DefinitionFile, ImageConfig.Config) {
        var config = ImageConfig.Config()
        var origin = DefinitionFileTests.origin
        let value = example.value
        switch example.place {
        case .entrypoint: config.Entrypoint = ["printf", "%s|", value]
        case .cmd: config.Entrypoint = ["printf", "%s|"]; config.Cmd = [value, "tail"]
        case .envValue: config.Env = ["VALUE=" + value, "PATH=/bin:" + value]
        case .labelKey: config.Labels = [value: "v"]
        case .labelValue: config.Labels = ["k": value]
        case .title: config.Labels = ["org.opencontainers.image.title": value]
        case .description: config.Labels = ["org.opencontainers.image.description": value]
        case .workingDir: config.WorkingDir = value
        case .user: config.User = value
        case .port: config.ExposedPorts = [value: .init()]
        case .volume: config.Volumes = [value: .init()]
        case .healthcheck: config.Healthcheck = DefinitionFileTests.healthcheck(["CMD-SHELL", value])
        case .created: origin.created = value
        }
        return (DefinitionFile(origin: origin, config: config), config)
    }

    /// `NewReader` substitutes nothing and finds no undefined variable, the file holds no match
    /// of its pattern at all (comments included), Apptainer's parser sees one stage with the
    /// expected header and sections, and `{{.Name}}` is left as it is.
    @Test(arguments: cases)
    func buildVariables(_ example: Case) throws {
        let (definition, _) = Self.definition(example)
        #expect(try ApptainerRules.substituteBuildVariables(definition.text) == definition.text)
        let pattern = try NSRegularExpression(pattern: #"\{\{[\t\n\f\r ]*[0-9A-Za-z_]+[\t\n\f\r ]*\}\}"#)
        #expect(pattern.firstMatch(in: definition.text, range: NSRange(location: 0, length: definition.text.utf16.count)) == nil)
        let parsed = ApptainerDefinition(definition.text)
        #expect(parsed.stages == 1)
        #expect(parsed.header == ["bootstrap": "docker", "from": DefinitionFileTests.pinnedFrom])
        #expect(Set(parsed.order).isSubset(of: ["help", "labels", "environment", "runscript"]))
        #expect(parsed.order.count == Set(parsed.order).count)
        #expect(parsed.labels == definition.labels)
        if example.value == "{{.Name}}" {
            #expect(definition.text.contains("{{.Name}}"))
        }
    }

    /// The quoting keeps each value's meaning: the runscript passes the exact arguments, the
    /// environment the exact value, the health check label the exact test.
    @Test(arguments: cases.filter { [.entrypoint, .cmd, .envValue, .healthcheck].contains($0.place) })
    func valuesKeepTheirMeaning(_ example: Case) throws {
        let (definition, config) = Self.definition(example)
        let parsed = ApptainerDefinition(try ApptainerRules.substituteBuildVariables(definition.text))
        switch example.place {
        case .entrypoint, .cmd:
            let argv = (config.Entrypoint ?? []) + (config.Cmd ?? [])
            let expected = try runShell("exec \"$@\"\n", args: argv).output
            for noEval in [false, true] {
                let result = try runShell(parsed.script("runscript"), environment: noEval ? ["SINGULARITY_NO_EVAL": "1"] : [:])
                #expect(result.output == expected, "no-eval \(noEval)")
                #expect(!result.injected)
            }
        case .envValue:
            let scripts = ["10-docker2singularity.sh": ApptainerRules.dockerEnvironmentScript(config.Env ?? []),
                           "90-environment.sh": ApptainerRules.environmentFile(base: "#!/bin/sh\n", environmentScript: parsed.bodies["environment"])]
            let result = try runShell("unset FOO PATH\n" + ApptainerRules.actionEnvironment(scripts) + "printf '%s' \"$VALUE\"\n")
            #expect(result.output == example.value)
        case .healthcheck:
            let label = try #require(parsed.labels[DefinitionFile.Label.healthcheck])
            #expect(try JSONDecoder().decode([String].self, from: Data(label.utf8)) == ["CMD-SHELL", example.value])
        default:
            break
        }
    }

    /// The image's labels are comments only, long values cut so %labels stays far below the
    /// 64 KiB Apptainer's scanner reads in one section.
    @Test func longLabelValuesAreShortened() {
        var config = ImageConfig.Config()
        config.Labels = ["long": String(repeating: "a", count: 198) + "{{ x }}" + String(repeating: "b", count: 95)]
        let definition = DefinitionFile(origin: DefinitionFileTests.origin, config: config)
        #expect(definition.text.contains("    #   long " + String(repeating: "a", count: 198) + "{\\u{7B} … (100 more characters)\n"))
        #expect(definition.warnings.isEmpty)
    }

    @Test func quotingForms() {
        #expect(DefinitionText.singleQuoted("{{x}}") == "'{''{x}}'")
        #expect(DefinitionText.singleQuoted("{{.Name}}") == "'{{.Name}}'")
        #expect(DefinitionText.doubleQuotedBody("{{ x }}") == "{\"\"{ x }}")
        #expect(DefinitionText.visible("a {{x}} {{.Name}} {{") == "a {\\u{7B}x}} {{.Name}} {\\u{7B}")
        #expect(DefinitionText.buildVariableStarts(Array("{{{x}}} {{y}}".unicodeScalars)) == [1, 8])
    }

    struct Reference: Sendable, CustomTestStringConvertible {
        let reference: String
        let pinned: Bool
        let from: String
        var testDescription: String { "\(reference) pinned \(pinned)" }
    }

    static let manifest = "sha256:" + String(repeating: "ab", count: 32)
    static let other = "sha256:" + String(repeating: "cd", count: 32)
    static let references = [
        Reference(reference: "registry.example/team/app:1.0", pinned: true, from: "registry.example/team/app@\(manifest)"),
        Reference(reference: "registry.example:5000/app:1.0", pinned: true, from: "registry.example:5000/app@\(manifest)"),
        Reference(reference: "127.0.0.1:5000/test/layered:t1", pinned: true, from: "127.0.0.1:5000/test/layered@\(manifest)"),
        Reference(reference: "docker.io/library/alpine:3.19", pinned: true, from: "docker.io/library/alpine@\(manifest)"),
        Reference(reference: "registry.example/app:1.0@\(other)", pinned: true, from: "registry.example/app@\(manifest)"),
        Reference(reference: "registry.example/app@\(other)", pinned: true, from: "registry.example/app@\(manifest)"),
        Reference(reference: "registry.example:5000/app:1.0", pinned: false, from: "registry.example:5000/app:1.0"),
        Reference(reference: "registry.example/app:1.0@\(other)", pinned: false, from: "registry.example/app@\(other)"),
        Reference(reference: "registry.example/app@\(other)", pinned: false, from: "registry.example/app@\(other)"),
    ]

    /// `From:` is a reference containers/image accepts (`NewReference`), and the reference it
    /// was resolved from stays in a comment and a label when the tag had to go.
    @Test(arguments: references)
    func fromHasNoTagAndDigest(_ example: Reference) throws {
        var origin = DefinitionFileTests.origin
        origin.reference = example.reference
        let definition = DefinitionFile(origin: origin, config: nil, options: DefinitionOptions(pinned: example.pinned))
        let parsed = ApptainerDefinition(definition.text)
        let from = try #require(parsed.header["from"])
        #expect(from == example.from)
        #expect(definition.from == example.from)
        #expect(ApptainerRules.dockerReferenceError(from) == nil)
        if from != example.reference {
            #expect(parsed.labels[DefinitionFile.Label.sourceReference] == example.reference)
            #expect(definition.text.contains("# From: pins \(example.reference) by digest alone"))
        } else {
            #expect(parsed.labels.isEmpty)
        }
    }

    @Test func theOracleRefusesTagAndDigest() {
        #expect(ApptainerRules.dockerReferenceError("registry.example/app:1.0@\(Self.other)") != nil)
        #expect(ApptainerRules.dockerReferenceError("registry.example:5000/app@\(Self.other)") == nil)
        #expect(ApptainerRules.dockerReferenceError("registry.example:5000/app") == nil)
    }

    /// Rebuilding from the embedded file (`insertLabelsJSON` after `insertOCILabels`, with
    /// main's `addBuildLabels` at the same time) warns about no label and gives the labels of
    /// the SIF sifter builds; only each tool's version label differs.
    @Test(arguments: ["docker", "oci"])
    func labelsOfARebuild(_ bootstrap: String) throws {
        let configJSON = #"{"architecture":"arm64","variant":"v8","os":"linux","created":"2024-01-02T03:04:05Z","rootfs":{"type":"layers","diff_ids":[]},"config":{"Labels":{"org.opencontainers.image.title":"T","org.opencontainers.image.created":"1999","k":"{{ x }}"},"Healthcheck":{"Test":["CMD","true"]}}}"#
        let config = try ImageConfig.decode(Array(configJSON.utf8))
        let digest = try Digest(sha256Hex: String(repeating: "ab", count: 32))
        let manifest = Manifest(config: Descriptor(mediaType: MediaType.ociConfig, digest: digest, size: Int64(configJSON.utf8.count)), layers: [])
        let reference = bootstrap == "docker" ? "registry.example/team/app:1.0" : "layout:t1"
        let image = ResolvedImage(sourceText: bootstrap == "docker" ? "docker://" + reference : "oci:" + reference, reference: reference,
                                  bootstrap: bootstrap, registry: nil, repository: nil, indexDigest: nil, manifestDigest: digest,
                                  manifest: manifest, configDigest: digest, configBytes: Array(configJSON.utf8), config: config, layers: [])
        let time: Int64 = 1_704_164_645  // Tuesday 2024-01-02 03:04:05 UTC
        let metadata = try BuildMetadata(image: image, time: time)
        let parsed = ApptainerDefinition(try ApptainerRules.substituteBuildVariables(metadata.definition))

        var build: [String: String] = [
            "org.label-schema.schema-version": "1.0",
            "org.opencontainers.image.created": "2024-01-02T03:04:05Z",
            "org.label-schema.build-date": Self.goBuildDate(time),
            "org.label-schema.usage.apptainer.version": "1.5.3",
            "org.opencontainers.image.architecture": "arm64",
            "org.opencontainers.image.variant": "v8",
            "org.label-schema.build-arch": "arm64",
        ]
        if parsed.bodies["help"] != nil {
            build["org.label-schema.usage"] = "/.singularity.d/runscript.help"
            build["org.label-schema.usage.apptainer.runscript.help"] = "/.singularity.d/runscript.help"
        }
        for (key, value) in parsed.header { build["org.label-schema.usage.singularity.deffile." + key] = value }
        if bootstrap == "docker" {
            // `RepoDigest`: the docker transport's reference as a string, and the manifest digest.
            build["org.opencontainers.image.base.name"] = parsed.header["from"]
            build["org.opencontainers.image.base.digest"] = digest.description
        }
        let rebuilt = ApptainerRules.insertLabels(image: config.config?.Labels ?? [:], build: build, definition: parsed.labels)
        #expect(rebuilt.warnings.isEmpty)
        #expect(!parsed.labels.isEmpty)
        #expect(parsed.labels.keys.allSatisfy { !ApptainerRules.buildLabelKeys.contains($0) })

        var fromApptainer = rebuilt.labels
        fromApptainer["org.label-schema.usage.apptainer.version"] = nil
        var fromSifter = metadata.labels
        #expect(fromSifter.removeValue(forKey: "org.sylabs.sifter.version") != nil)
        #expect(fromSifter == fromApptainer)
    }

    /// Go's `Weekday_D_Month_YYYY_H:M:S_ZONE` (`strconv.Itoa`, no padding) for a UTC time.
    static func goBuildDate(_ time: Int64) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC") ?? calendar.timeZone
        let date = Date(timeIntervalSince1970: TimeInterval(time))
        let parts = calendar.dateComponents([.weekday, .day, .month, .year, .hour, .minute, .second], from: date)
        // Go's time.Weekday and time.Month String(), in English whatever the locale.
        let weekdays = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"]
        let months = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
                      "November", "December"]
        let weekday = weekdays[(parts.weekday ?? 1) - 1]
        let month = months[(parts.month ?? 1) - 1]
        return "\(weekday)_\(parts.day ?? 0)_\(month)_\(parts.year ?? 0)_\(parts.hour ?? 0):\(parts.minute ?? 0):\(parts.second ?? 0)_UTC"
    }
}
