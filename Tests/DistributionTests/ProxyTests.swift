import CurlHTTP
import Foundation
@testable import Distribution
import OCISpec
import Testing

/// Which proxy a request goes through (`ProxySettings`), and that credentials never travel in
/// clear through one (`Session`). The real proxy (tinyproxy) is in integration/cases/interop-proxy.sh.
@Suite(.timeLimit(.minutes(1)))
struct ProxyTests {
    @Test func theEnvironmentIsReadAsDocumented() {
        let env = ["HTTPS_PROXY": "proxy.example:3128", "http_proxy": "http://plain.example:8080", "HTTP_PROXY": "http://ignored.example",
                   "NO_PROXY": "internal.example, .corp.example,10.0.0.0/8,192.168.1.7,cache.example:5000,[::1]:5000"]
        let proxies = ProxySettings(environment: env)
        #expect(proxies.proxy(for: "https://ghcr.io/v2/") == "http://proxy.example:3128")  // no scheme: http://
        #expect(proxies.proxy(for: "http://127.0.0.1:5000/v2/") == "http://plain.example:8080")  // lower case first
        for direct in ["https://internal.example/v2/", "https://registry.internal.example/v2/", "https://a.b.corp.example/v2/",
                       "https://corp.example/v2/", "https://10.2.3.4:5000/v2/", "http://192.168.1.7/v2/", "https://cache.example:5000/v2/",
                       "http://[::1]:5000/v2/"] {
            #expect(proxies.proxy(for: direct) == nil, "\(direct)")
        }
        for proxied in ["https://notinternal.example/v2/", "https://11.2.3.4/v2/", "http://192.168.1.8/v2/", "https://cache.example/v2/",
                        "http://[::1]:5001/v2/"] {
            #expect(proxies.proxy(for: proxied) != nil, "\(proxied)")
        }
        // Upper-case HTTP_PROXY counts, except in a CGI program (httpoxy); ALL_PROXY is the fallback.
        #expect(ProxySettings(environment: ["HTTP_PROXY": "http://p:1"]).proxy(for: "http://r/v2/") == "http://p:1")
        #expect(ProxySettings(environment: ["HTTP_PROXY": "http://p:1", "REQUEST_METHOD": "GET"]).proxy(for: "http://r/v2/") == nil)
        #expect(ProxySettings(environment: ["ALL_PROXY": "socks5h://s:1080"]).proxy(for: "https://r/v2/") == "socks5h://s:1080")
        #expect(ProxySettings(environment: ["https_proxy": "", "HTTPS_PROXY": "http://p:1"]).proxy(for: "https://r/v2/") == nil)
        #expect(ProxySettings(environment: ["https_proxy": "http://p:1", "no_proxy": "*"]).proxy(for: "https://r/v2/") == nil)
        #expect(ProxySettings(environment: [:]).proxy(for: "https://r/v2/") == nil)
    }

    static func options(_ env: [String: String], plainHTTP: Bool) -> RegistryOptions {
        var options = scriptedOptions(plainHTTP: plainHTTP)
        options.proxies = ProxySettings(environment: env)
        options.plainHTTPProxies = Set((env["SIFTER_PLAIN_HTTP_PROXIES"] ?? "").split(separator: ",").map(String.init))
        return options
    }

    static func basicRegistry(origin: String) -> ScriptedWeb {
        ScriptedWeb { sent in
            guard sent.authorization == scriptedBasic else {
                return .json(401, #"{"errors":[{"code":"UNAUTHORIZED"}]}"#, [("WWW-Authenticate", #"Basic realm="r""#)])
            }
            return .json(200, #"{"tags":[]}"#)
        }
    }

    /// Over https the proxy only relays a tunnel: credentials go, through it.
    @Test func httpsGoesThroughTheProxyWithCredentials() throws {
        let web = Self.basicRegistry(origin: SessionTests.registry)
        _ = try web.client(Self.options(["https_proxy": "http://proxy.example:3128"], plainHTTP: false)).listTags(SessionTests.ref)
        #expect(web.sent.map(\.proxy) == ["http://proxy.example:3128", "http://proxy.example:3128"])
        #expect(web.sent.last?.authorization == scriptedBasic)
    }

    /// Over plain http a proxy would read the Authorization header: refused before it is sent,
    /// with the ways out named; a listed proxy, or NO_PROXY, lets it through.
    @Test func plainHTTPCredentialsNeverGoThroughAProxyUnlessAllowed() throws {
        let ref = try ImageReference.parse("registry.example:5000/team/app:v1")
        let env = ["http_proxy": "http://proxy.example:3128"]
        let refused = Self.basicRegistry(origin: "http://registry.example:5000")
        #expect {
            _ = try refused.client(Self.options(env, plainHTTP: true)).listTags(ref)
        } throws: { error in
            let text = "\(error)"
            return text.contains("refusing to send credentials over plain http through the proxy http://proxy.example:3128")
                && text.contains("NO_PROXY") && text.contains("SIFTER_PLAIN_HTTP_PROXIES=proxy.example:3128")
        }
        #expect(refused.sent.count == 1)  // the anonymous first try, which the registry refused
        #expect(refused.sent.allSatisfy { $0.authorization == nil })

        let allowed = Self.basicRegistry(origin: "http://registry.example:5000")
        _ = try allowed.client(Self.options(env.merging(["SIFTER_PLAIN_HTTP_PROXIES": "proxy.example:3128"]) { a, _ in a }, plainHTTP: true))
            .listTags(ref)
        #expect(allowed.sent.last?.authorization == scriptedBasic && allowed.sent.last?.proxy == "http://proxy.example:3128")

        let bypassed = Self.basicRegistry(origin: "http://registry.example:5000")
        _ = try bypassed.client(Self.options(env.merging(["no_proxy": "registry.example"]) { a, _ in a }, plainHTTP: true)).listTags(ref)
        #expect(bypassed.sent.allSatisfy { $0.proxy == nil })
        #expect(bypassed.sent.last?.authorization == scriptedBasic)

        // Anonymous plain-http requests carry nothing secret: they may use the proxy.
        let open = ScriptedWeb { _ in .json(200, #"{"tags":[]}"#) }
        var anonymous = Self.options(env, plainHTTP: true)
        anonymous.credentialSources = []
        _ = try open.client(anonymous).listTags(ref)
        #expect(open.sent.map(\.proxy) == ["http://proxy.example:3128"])
    }
}
