extension SBOMDocument {
    // MARK: SPDX 2.3

    /// The image is the document's one described package, `CONTAINS` every installed package.
    /// Architecture and distribution are in each purl (`arch=`, `distro=`), the database the
    /// package was listed in is its `sourceInfo`.
    func spdx() -> JSONText {
        let identifiers = packageIdentifiers()
        var taken = Set<String>()
        var references: [String: String] = [:]
        var extracted: [JSONText] = []
        func declared(_ license: String?) -> String {
            guard let license else { return "NOASSERTION" }
            if let expression = SPDXLicense.normalized(license) { return expression }
            if let known = references[license] { return known }
            let reference = SPDXLicense.reference(for: license, taken: &taken)
            references[license] = reference
            extracted.append(.object([
                ("licenseId", .string(reference)), ("extractedText", .string(license)), ("name", .string(license)),
            ]))
            return reference
        }

        var image: [(String, JSONText)] = [
            ("name", .string(subject.reference)),
            ("SPDXID", .string("SPDXRef-Image")),
            ("versionInfo", .string(subject.manifestDigest)),
            ("downloadLocation", .string("NOASSERTION")),
            ("filesAnalyzed", .bool(false)),
            ("checksums", .array([.object([("algorithm", .string("SHA256")), ("checksumValue", .string(subject.manifestHex))])])),
            ("primaryPackagePurpose", .string("CONTAINER")),
            ("licenseConcluded", .string("NOASSERTION")),
            ("licenseDeclared", .string("NOASSERTION")),
            ("copyrightText", .string("NOASSERTION")),
        ]
        if let purl = subject.packageURL { image.append(("externalRefs", .array([Self.purlReference(purl)]))) }
        image.append(("comment", .string("The image \(subject.source) for \(subject.platform); its tree as the SIF holds it.")))

        var packages: [JSONText] = [.object(image)]
        var relationships: [JSONText] = [Self.relationship("SPDXRef-DOCUMENT", "DESCRIBES", "SPDXRef-Image")]
        for (package, identifier) in zip(inventory.packages, identifiers) {
            let id = "SPDXRef-Package-" + identifier
            packages.append(.object([
                ("name", .string(package.name)),
                ("SPDXID", .string(id)),
                ("versionInfo", .string(package.displayVersion)),
                ("downloadLocation", .string("NOASSERTION")),
                ("filesAnalyzed", .bool(false)),
                ("sourceInfo", .string("listed in \(package.location)")),
                ("licenseConcluded", .string("NOASSERTION")),
                ("licenseDeclared", .string(declared(package.license))),
                ("copyrightText", .string("NOASSERTION")),
                ("externalRefs", .array([Self.purlReference(package.packageURL(on: inventory.operatingSystem))])),
            ]))
            relationships.append(Self.relationship("SPDXRef-Image", "CONTAINS", id))
        }

        var document: [(String, JSONText)] = [
            ("spdxVersion", .string("SPDX-2.3")),
            ("dataLicense", .string("CC0-1.0")),
            ("SPDXID", .string("SPDXRef-DOCUMENT")),
            ("name", .string(subject.source)),
            ("documentNamespace", .string("https://sifter.invalid/spdx/\(namespaceName)-\(documentID)")),
            ("creationInfo", .object([
                ("created", .string(created)),
                ("creators", .array([.string("Tool: sifter-\(toolVersion)")])),
            ])),
            ("packages", .array(packages)),
        ]
        if !extracted.isEmpty { document.append(("hasExtractedLicensingInfos", .array(extracted))) }
        document.append(("relationships", .array(relationships)))
        return .object(document)
    }

    /// The image's name as an idstring, without leading or trailing `-` (a path's `/`).
    private var namespaceName: String {
        var name = Substring(Self.idstring(subject.reference))
        while name.first == "-" { name = name.dropFirst() }
        while name.last == "-" { name = name.dropLast() }
        return name.isEmpty ? "image" : String(name)
    }

    private static func purlReference(_ purl: PackageURL) -> JSONText {
        .object([
            ("referenceCategory", .string("PACKAGE-MANAGER")),
            ("referenceType", .string("purl")),
            ("referenceLocator", .string(purl.description)),
        ])
    }

    private static func relationship(_ element: String, _ type: String, _ related: String) -> JSONText {
        .object([("spdxElementId", .string(element)), ("relationshipType", .string(type)), ("relatedSpdxElement", .string(related))])
    }

    // MARK: CycloneDX 1.5

    /// The image is the metadata's component; every package a component it depends on.
    func cycloneDX() -> JSONText {
        let identifiers = packageIdentifiers()
        var image: [(String, JSONText)] = [
            ("bom-ref", .string("image")),
            ("type", .string("container")),
            ("name", .string(subject.reference)),
            ("version", .string(subject.manifestDigest)),
            ("hashes", .array([.object([("alg", .string("SHA-256")), ("content", .string(subject.manifestHex))])])),
        ]
        if let purl = subject.packageURL { image.append(("purl", .string(purl.description))) }
        image.append(("properties", .array([
            Self.property("sifter:source", subject.source), Self.property("sifter:platform", subject.platform),
        ])))

        var components: [JSONText] = []
        for (package, identifier) in zip(inventory.packages, identifiers) {
            var component: [(String, JSONText)] = [
                ("bom-ref", .string(identifier)),
                ("type", .string("library")),
                ("name", .string(package.name)),
                ("version", .string(package.displayVersion)),
            ]
            if let license = package.license {
                let entry: JSONText = SPDXLicense.normalized(license).map { .object([("expression", .string($0))]) }
                    ?? .object([("license", .object([("name", .string(license))]))])
                component.append(("licenses", .array([entry])))
            }
            component.append(("purl", .string(package.packageURL(on: inventory.operatingSystem).description)))
            component.append(("properties", .array([Self.property("sifter:location", package.location)])))
            components.append(.object(component))
        }

        return .object([
            ("$schema", .string("http://cyclonedx.org/schema/bom-1.5.schema.json")),
            ("bomFormat", .string("CycloneDX")),
            ("specVersion", .string("1.5")),
            ("serialNumber", .string("urn:uuid:\(documentID)")),
            ("version", .int(1)),
            ("metadata", .object([
                ("timestamp", .string(created)),
                ("tools", .object([("components", .array([.object([
                    ("type", .string("application")), ("name", .string("sifter")), ("version", .string(toolVersion)),
                ])]))])),
                ("component", .object(image)),
            ])),
            ("components", .array(components)),
            ("dependencies", .array([.object([
                ("ref", .string("image")), ("dependsOn", .array(identifiers.map { .string($0) })),
            ])])),
        ])
    }

    private static func property(_ name: String, _ value: String) -> JSONText {
        .object([("name", .string(name)), ("value", .string(value))])
    }
}
