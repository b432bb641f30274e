@testable import Distribution
import Testing

struct AuthChallengeTests {
    @Test func parsesGHCRBearerChallenge() {
        let challenges = AuthChallenge.parse(#"Bearer realm="https://ghcr.io/token",service="ghcr.io",scope="repository:user/image:pull""#)
        #expect(challenges.count == 1)
        #expect(challenges[0].scheme == "bearer")
        #expect(challenges[0].realm == "https://ghcr.io/token")
        #expect(challenges[0].service == "ghcr.io")
        #expect(challenges[0].scopes == ["repository:user/image:pull"])
    }

    @Test func parsesSeveralScopesAndErrors() {
        let c = AuthChallenge.parse(
            #"Bearer realm="https://auth.docker.io/token", service="registry.docker.io", scope="repository:a/b:pull repository:c/d:pull,push", error="insufficient_scope""#)
        #expect(c.count == 1)
        #expect(c[0].scopes == ["repository:a/b:pull", "repository:c/d:pull,push"])
        #expect(c[0].error == "insufficient_scope")
    }

    @Test func parsesBasicAndMultipleChallengesInOneHeader() {
        let c = AuthChallenge.parse(#"Basic realm="Registry Realm", Bearer realm="https://q.io/v2/auth",service=q.io"#)
        #expect(c.map(\.scheme) == ["basic", "bearer"])
        #expect(c[0].realm == "Registry Realm")
        #expect(c[1].realm == "https://q.io/v2/auth")
        #expect(c[1].service == "q.io")
    }

    @Test func handlesEscapesCaseAndJunk() {
        let c = AuthChallenge.parse(#"BEARER Realm="https://x/t\"q\"", Service="s""#)
        #expect(c.first?.scheme == "bearer")
        #expect(c.first?.realm == #"https://x/t"q""#)
        #expect(c.first?.service == "s")
        #expect(AuthChallenge.parse("").isEmpty)
        #expect(AuthChallenge.parse("Basic").map(\.scheme) == ["basic"])
        // Unterminated quotes run to the end instead of crashing.
        #expect(AuthChallenge.parse(#"Bearer realm="https://x"#).first?.realm == "https://x")
    }

    @Test func scopeNamesMayContainPorts() {
        let scope = Scope(parsing: "repository:127.0.0.1:5000/a/b:pull,push")
        #expect(scope?.repository == "127.0.0.1:5000/a/b")
        #expect(scope?.actions == ["pull", "push"])
        #expect(Scope(parsing: "registry:catalog:*") == nil)
        let merged = Scope.merge([Scope(repository: "a", actions: ["push"]), Scope(repository: "a", actions: ["pull"]),
                                  Scope(repository: "b", actions: ["pull"])])
        #expect(merged.map(\.text) == ["repository:a:pull,push", "repository:b:pull"])
    }

    @Test func urlHelpers() {
        #expect(URLs.origin(of: "https://Ghcr.io:443/v2/x") == "https://ghcr.io")
        #expect(URLs.origin(of: "http://127.0.0.1:5000/v2/") == "http://127.0.0.1:5000")
        #expect(URLs.origin(of: "http://127.0.0.1:5001/v2/") != URLs.origin(of: "http://127.0.0.1:5000/v2/"))
        #expect(URLs.resolve("/v2/a/blobs/uploads/u?_state=x", against: "http://h:1/v2/a/blobs/uploads/") == "http://h:1/v2/a/blobs/uploads/u?_state=x")
        #expect(URLs.resolve("https://cdn.example/b?sig=1", against: "http://h/v2/") == "https://cdn.example/b?sig=1")
        #expect(URLs.resolve("next?n=2", against: "https://h/v2/a/tags/list?n=1") == "https://h/v2/a/tags/next?n=2")
        #expect(URLs.resolve("//other/x", against: "https://h/v2/") == "https://other/x")
        #expect(URLs.appendingQuery("http://h/u?_state=a", "digest", "sha256:00") == "http://h/u?_state=a&digest=sha256%3A00")
        #expect(URLs.retryAfter("3") == 3)
        #expect(URLs.retryAfter("soon") == nil)
        #expect(URLs.nextLink(#"</v2/a/tags/list?last=b&n=1>; rel="next""#) == "/v2/a/tags/list?last=b&n=1")
        #expect(URLs.nextLink(#"</x>; rel="prev""#) == nil)
        #expect(RegistryClient.contentRangeStart("bytes 100-199/1000") == 100)
        #expect(RegistryClient.rangeEnd("bytes=0-1023") == 1023)
        #expect(RegistryClient.rangeEnd("0-99") == 99)
    }
}
