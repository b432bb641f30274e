import CurlHTTP
import Foundation

/// Answers registry challenges and caches what it learnt: per registry the scheme (Basic or
/// Bearer with its realm), per registry and scope set the Bearer token. Shared by all download
/// threads of a client.
final class Authenticator: Sendable {
    private enum Method: Sendable {
        case basic(header: String)
        case bearer(realm: String, service: String?)
    }

    private struct Token: Sendable {
        var value: String
        var expires: Date
    }

    private let methods = Locked<[String: Method]>([:])
    private let tokens = Locked<[String: Token]>([:])
    private let credentials = Locked<[String: Credential?]>([:])
    private let resolver: CredentialResolver
    private let scrubber: SecretScrubber
    private let allowPlainHTTPCredentials: Bool
    private let plainHTTPRealms: Set<String>

    init(resolver: CredentialResolver, scrubber: SecretScrubber, allowPlainHTTPCredentials: Bool, plainHTTPRealms: Set<String> = []) {
        self.resolver = resolver
        self.scrubber = scrubber
        self.allowPlainHTTPCredentials = allowPlainHTTPCredentials
        self.plainHTTPRealms = plainHTTPRealms
    }

    /// The Authorization value for a request, when the registry is known to want one.
    /// Fetching a token here (rather than waiting for a 401) saves a round trip per request.
    func authorization(for request: Request, session: Session) throws(DistributionError) -> String? {
        switch methods.withLock({ $0[request.registry] }) {
        case nil:
            return nil
        case let .basic(header):
            return header
        case let .bearer(realm, service):
            let key = Self.key(request.registry, request.scopes)
            if let token = tokens.withLock({ $0[key] }), token.expires > Date() { return "Bearer " + token.value }
            let token = try fetchToken(realm: realm, service: service, scopes: request.scopes, request: request, session: session)
            tokens.withLock { $0[key] = token }
            return "Bearer " + token.value
        }
    }

    /// Reacts to a 401. Returns true when the request should be sent again with new
    /// authorization, false when there is nothing better to send (the caller reports the 401).
    func handle(_ challenges: [AuthChallenge], for request: Request, sent: String?, session: Session) throws(DistributionError)
        -> Bool
    {
        if let bearer = challenges.first(where: { $0.scheme == "bearer" }), let realm = bearer.realm {
            methods.withLock { $0[request.registry] = .bearer(realm: realm, service: bearer.service) }
            // The challenge may ask for more than we planned (e.g. pull besides push).
            let wanted = Scope.merge(request.scopes + bearer.scopes.compactMap(Scope.init(parsing:)))
            let token = try fetchToken(realm: realm, service: bearer.service, scopes: wanted, request: request, session: session)
            if let sent, sent == "Bearer " + token.value { return false }
            tokens.withLock { $0[Self.key(request.registry, request.scopes)] = token }
            return true
        }
        if challenges.contains(where: { $0.scheme == "basic" }) {
            guard let credential = try credential(for: request) else { return false }
            let header = "Basic " + Data("\(credential.username):\(credential.password)".utf8).base64EncodedString()
            if sent == header { return false }
            guard request.url.hasPrefix("https://") || allowPlainHTTPCredentials else {
                throw .authentication(registry: request.registry, reason: "refusing to send a password over plain http (use https, or --plain-http for a local registry)")
            }
            methods.withLock { $0[request.registry] = .basic(header: header) }
            return true
        }
        return false
    }

    private func credential(for request: Request) throws(DistributionError) -> Credential? {
        if let cached = credentials.withLock({ $0[request.registry] }) { return cached }
        let found = try resolver.credential(for: request.registry, repository: request.repository)?.0
        if let found { found.secrets.forEach(scrubber.add) }
        credentials.withLock { $0[request.registry] = .some(found) }
        return found
    }

    /// Exchanges credentials (or nothing, for anonymous pulls) for a token at the realm.
    private func fetchToken(realm: String, service: String?, scopes: [Scope], request: Request, session: Session)
        throws(DistributionError) -> Token
    {
        guard realm.hasPrefix("https://") || realm.hasPrefix("http://") else {
            throw .authentication(registry: request.registry, reason: "challenge realm is not an http(s) URL")
        }
        let credential = try credential(for: request)
        if credential != nil { try checkPlainHTTP(realm: realm, for: request) }
        var token: Request
        if let identity = credential?.identityToken {
            // OAuth2 refresh-token grant (docker config `identitytoken`): one space-joined scope.
            var form = "grant_type=refresh_token&client_id=sifter&refresh_token=" + URLs.encode(identity)
            if let service { form += "&service=" + URLs.encode(service) }
            if !scopes.isEmpty { form += "&scope=" + URLs.encode(scopes.map(\.text).joined(separator: " ")) }
            token = Request(method: .post, url: realm, registryOrigin: request.registryOrigin, operation: "token request",
                            registry: request.registry)
            token.headers = [CurlHeader(name: "Content-Type", value: "application/x-www-form-urlencoded")]
            token.body = .bytes(Array(form.utf8))
        } else {
            var url = realm
            if let service { url = URLs.appendingQuery(url, "service", service) }
            // One `scope` parameter per scope, as the token spec says.
            for scope in scopes { url = URLs.appendingQuery(url, "scope", scope.text) }
            token = Request(method: .get, url: url, registryOrigin: request.registryOrigin, operation: "token request",
                            registry: request.registry)
            if let credential {
                let basic = Data("\(credential.username):\(credential.password)".utf8).base64EncodedString()
                token.headers = [CurlHeader(name: "Authorization", value: "Basic " + basic)]
            }
        }
        token.repository = request.repository
        token.authenticate = false
        token.carriesCredentials = credential != nil
        // A redirect would carry the Basic header along; token endpoints do not redirect.
        token.followRedirects = false
        var response = try session.send(token, into: BufferTarget(limit: 1 << 20))
        if response.status == 400, scopes.count > 1, credential?.identityToken == nil {
            // Some auth servers refuse repeated scope parameters (Apptainer 1.1.0 changelog).
            var joined = token
            joined.url = URLs.appendingQuery(service.map { URLs.appendingQuery(realm, "service", $0) } ?? realm,
                                             "scope", scopes.map(\.text).joined(separator: " "))
            response = try session.send(joined, into: BufferTarget(limit: 1 << 20))
        }
        switch response.status {
        case 200:
            break
        case 401:
            throw .unauthorized(registry: request.registry, repository: request.repository, operation: "token request", errors: scrubbed(response.errors))
        case 403:
            throw .denied(registry: request.registry, repository: request.repository, operation: "token request", errors: scrubbed(response.errors))
        default:
            throw .unexpectedStatus(registry: request.registry, repository: request.repository, operation: "token request",
                                    status: response.status, errors: scrubbed(response.errors))
        }
        struct Answer: Decodable {
            var token: String?
            var access_token: String?
            var expires_in: Int?
        }
        guard let answer = try? JSONDecoder().decode(Answer.self, from: Data(response.body)),
            let value = [answer.token, answer.access_token].compactMap({ $0 }).first(where: { !$0.isEmpty })
        else {
            throw .authentication(registry: request.registry, reason: "token response has no token")
        }
        scrubber.add(value)
        // The spec's default lifetime is 60 s and a shorter one is to be read as 60 s. Renew
        // 10 s early so a token does not expire between check and use.
        let lifetime = max(answer.expires_in ?? 60, 60)
        return Token(value: value, expires: Date().addingTimeInterval(Double(lifetime - 10)))
    }

    /// Credentials go to a token service over https wherever the registry's challenge points
    /// (Docker Hub's is auth.docker.io). Over plain http — only with `--plain-http` — they go
    /// only to the registry's own origin, a loopback address (a test or local registry), or a
    /// service named in `plainHTTPRealms`; anything else is refused before any connection.
    private func checkPlainHTTP(realm: String, for request: Request) throws(DistributionError) {
        guard realm.lowercased().hasPrefix("http://") else { return }
        let shown = URLRedaction.redact(realm)
        guard allowPlainHTTPCredentials else {
            throw .authentication(registry: request.registry, reason: "refusing to send credentials to the plain-http token service \(shown)")
        }
        let host = URLs.host(of: realm) ?? ""
        let authority = URLs.authority(of: realm) ?? ""
        if URLs.origin(of: realm) == request.registryOrigin || URLs.isLoopback(host: host)
            || plainHTTPRealms.contains(authority) || plainHTTPRealms.contains(host)
        {
            return
        }
        throw .authentication(
            registry: request.registry,
            reason: "refusing to send credentials over plain http to the token service \(shown): it is neither the registry "
                + "nor a loopback address (use https, or allow it with SIFTER_PLAIN_HTTP_REALMS=\(authority))")
    }

    private func scrubbed(_ errors: [RegistryErrorEntry]) -> [RegistryErrorEntry] {
        errors.map { RegistryErrorEntry(code: $0.code, message: $0.message.map(scrubber.scrub)) }
    }

    private static func key(_ registry: String, _ scopes: [Scope]) -> String {
        ([registry] + Scope.merge(scopes).map(\.text)).joined(separator: " ")
    }
}
