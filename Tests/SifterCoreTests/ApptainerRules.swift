import Foundation

/// Apptainer's rules for definition files and for what it builds from them, re-implemented in
/// the tests from Apptainer's source (apptainer/apptainer main, v1.3.6 and v1.4.5; each rule
/// names its file and function), so the tests check sifter's output against the peer's rule
/// and not against sifter's own reading of it.
enum ApptainerRules {
    struct UndefinedBuildVariable: Error, Equatable {
        let name: String
    }

    /// `internal/pkg/build/args/reader.go` `NewReader` (identical in 1.3.6, 1.4.5 and main),
    /// run by `build.go` `MakeAllDefs` on each stage's raw text before parsing: every match of
    /// `{{\s*(\w+)\s*}}` is replaced by its value, unless the text between the line's start (or
    /// the end of the previous substituted match) and the match matches `\s*[#][^!]\s*.*`
    /// anywhere; an undefined name fails the build. Go's RE2 classes are ASCII: `\s` is
    /// [\t\n\f\r ], `\w` is [0-9A-Za-z_], spelt out here because ICU's are wider.
    static func substituteBuildVariables(_ text: String, values: [String: String] = [:]) throws -> String {
        let variable = try NSRegularExpression(pattern: #"\{\{[\t\n\f\r ]*([0-9A-Za-z_]+)[\t\n\f\r ]*\}\}"#)
        let comment = try NSRegularExpression(pattern: #"[\t\n\f\r ]*[#][^!][\t\n\f\r ]*.*"#)
        let source = Array(text.utf16)
        let whole = NSRange(location: 0, length: source.count)
        var out: [UInt16] = []
        var consumed = 0
        for match in variable.matches(in: text, range: whole) {
            let start = match.range.location
            var lineStart = consumed
            var index = start
            while index >= lineStart {
                if source[index] == 0x0A {
                    lineStart = index
                    break
                }
                index -= 1
            }
            let before = String(decoding: source[lineStart..<start], as: UTF16.self)
            if comment.firstMatch(in: before, range: NSRange(location: 0, length: before.utf16.count)) != nil { continue }
            out += source[consumed..<start]
            let name = String(decoding: source[match.range(at: 1).location..<NSMaxRange(match.range(at: 1))], as: UTF16.self)
            guard let value = values[name] else { throw UndefinedBuildVariable(name: name) }
            out += Array(value.utf16)
            consumed = NSMaxRange(match.range)
        }
        out += source[consumed...]
        return String(decoding: out, as: UTF16.self)
    }

    /// containers/image `docker/docker_transport.go` `NewReference` (`newReference` in the
    /// go.podman.io fork Apptainer ≥ 1.5 uses through `build_oci.RepoDigest` → `parseURI`; 1.3's
    /// `conveyorPacker_oci.go` `Get` → `docker.ParseReference`): a reference that is both
    /// tagged and digested is refused. The tag is what follows the last `:` after the last `/`
    /// of the name (distribution/reference's grammar), the digest what follows `@`.
    static func dockerReferenceError(_ from: String) -> String? {
        let parts = from.split(separator: "@", maxSplits: 1, omittingEmptySubsequences: false)
        let name = parts[0]
        let afterSlash = name[(name.lastIndex(of: "/").map { name.index(after: $0) } ?? name.startIndex)...]
        guard afterSlash.contains(":"), parts.count == 2 else { return nil }
        return "Docker references with both a tag and digest are currently not supported"
    }

    /// `env.DefaultPath`, which `fixpath` completes PATH with.
    static let defaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

    /// `internal/pkg/runtime/engine/apptainer/process_linux.go` `fixPathBuiltin`: PATH's entries,
    /// then every entry of the default PATH that is missing, joined with `:`. As a sh function.
    static let fixpathFunction = """
        __fixpath() {
            __out="${PATH:-}"
            for __d in \(defaultPath.split(separator: ":").joined(separator: " ")); do
                case ":${PATH:-}:" in
                *":$__d:"*) ;;
                *) __out="${__out:+$__out:}$__d" ;;
                esac
            done
            printf '%s' "$__out"
        }

        """

    /// `internal/pkg/util/fs/files/action_script.sh`: the host's environment is cleared
    /// (`clear_env`; the caller runs this under `env -i`), then every `/.singularity.d/env/*.sh`
    /// is sourced in glob order; after `10-docker2singularity.sh` PATH is completed by `fixpath`,
    /// and before `90-environment.sh` too when PATH is unset. `scripts` maps a file name to its
    /// text; the result is shell text that leaves the container's environment set.
    static func actionEnvironment(_ scripts: [String: String]) -> String {
        var text = fixpathFunction
        for name in scripts.keys.sorted() {
            let body = scripts[name] ?? ""
            let guarded = "if true; then\n" + body + "\n:\nfi\n"
            switch name {
            case "90-environment.sh":
                text += "if [ -z \"${PATH+set}\" ]; then export PATH=\"$(__fixpath)\"; fi\n" + guarded
            case "10-docker2singularity.sh", "10-docker.sh":
                text += guarded + "export PATH=\"$(__fixpath)\"\n"
            default:
                text += guarded
            }
        }
        return text
    }

    /// `internal/pkg/build/sources/conveyorPacker_oci.go` `insertEnv`: the bootstrap's
    /// `10-docker2singularity.sh` for an image's Env (names must match
    /// `^[a-zA-Z_]{1,}[a-zA-Z0-9_]{0,}$`; `shell.Escape` backslash-escapes \ " ` $).
    static func dockerEnvironmentScript(_ env: [String]) -> String {
        func escape(_ text: String) -> String {
            text.reduce(into: "") { out, character in
                if "\\\"`$".contains(character) { out.append("\\") }
                out.append(character)
            }
        }
        func valid(_ name: String) -> Bool {
            let letters = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_")
            guard let first = name.first, letters.contains(first) else { return false }
            return name.allSatisfy { letters.contains($0) || ("0"..."9").contains($0) }
        }
        var text = "#!/bin/sh\n"
        for element in env {
            let parts = element.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
            guard valid(parts[0]) else { continue }
            if parts.count == 1 {
                text += "export \(parts[0])=\"${\(parts[0]):-}\"\n"
            } else if parts[0] == "PATH" {
                text += "export PATH=\"\(escape(parts[1]))\"\n"
            } else {
                text += "export \(parts[0])=\"${\(parts[0]):-\"\(escape(parts[1]))\"}\"\n"
            }
        }
        return text
    }

    /// `internal/pkg/build/metadata.go` `insertEnvScript`: %environment appended to the existing
    /// `90-environment.sh` as "\n" + script + "\n".
    static func environmentFile(base: String, environmentScript: String?) -> String {
        guard let script = environmentScript, !script.isEmpty else { return base }
        return base + "\n" + script + "\n"
    }

    /// Label keys `addBuildLabels` (metadata.go) sets in any of 1.3.6, 1.4.5, 1.5.x and main,
    /// besides one `org.label-schema.usage.singularity.deffile.<key>` per header key.
    static let buildLabelKeys: Set<String> = [
        "org.label-schema.schema-version", "org.label-schema.build-date", "org.label-schema.usage.apptainer.version",
        "org.label-schema.usage", "org.label-schema.usage.apptainer.runscript.help", "org.label-schema.build-arch",
        "org.opencontainers.image.base.name", "org.opencontainers.image.base.digest", "org.opencontainers.image.created",
        "org.opencontainers.image.architecture", "org.opencontainers.image.variant",
    ]

    /// `insertLabelsJSON` (metadata.go): the existing labels.json (the image's labels, written
    /// by the bootstrap's `insertOCILabels`), then the build labels (which win), then %labels:
    /// a key that already exists is kept, with one warning "Label: K already exists and force
    /// option is false, not overwriting".
    static func insertLabels(image: [String: String], build: [String: String], definition: [String: String])
        -> (labels: [String: String], warnings: [String]) {
        var labels = image
        labels.merge(build) { _, new in new }
        var warnings: [String] = []
        for key in definition.keys.sorted() {
            if labels[key] != nil {
                warnings.append("Label: \(key) already exists and force option is false, not overwriting")
            } else {
                labels[key] = definition[key]
            }
        }
        return (labels, warnings)
    }
}
