import HTTPTypes
import Hummingbird

/// Serves `base` as the web config asks: basic auth in front of every path (`/-/healthy`
/// included, as with the exporter-toolkit), and the extra headers on every response.
public struct WebConfigResponder<Base: HTTPResponder>: HTTPResponder {
    public typealias Context = Base.Context

    let base: Base
    let authenticator: BasicAuthenticator?
    let headers: [(name: HTTPField.Name, value: String)]

    public init(_ base: Base, config: WebConfig) {
        self.init(base, config: config, authenticator: config.basicAuthUsers.isEmpty ? nil : BasicAuthenticator(users: config.basicAuthUsers))
    }

    init(_ base: Base, config: WebConfig, authenticator: BasicAuthenticator?) {
        self.base = base
        self.authenticator = authenticator
        // The names come from a fixed list of valid header names.
        headers = config.headers.compactMap { header in HTTPField.Name(header.name).map { ($0, header.value) } }
    }

    public func respond(to request: Request, context: Context) async throws -> Response {
        var response: Response
        if let rejection = await rejection(authorization: request.headers[.authorization], head: request.method == .head) {
            response = rejection
        } else {
            response = try await base.respond(to: request, context: context)
        }
        for header in headers { response.headers[header.name] = header.value }
        return response
    }

    /// The 401 to send instead of the page, or nil when the request may pass.
    func rejection(authorization: String?, head: Bool) async -> Response? {
        guard let authenticator, await !authenticator.allows(authorization: authorization) else { return nil }
        return Self.unauthorized(head: head)
    }

    /// One answer for every failure, so it tells nothing about which part was wrong.
    static func unauthorized(head: Bool) -> Response {
        var response = ExporterResponder.text(.unauthorized, "401 Unauthorized\n")
        response.headers[.wwwAuthenticate] = "Basic realm=\"bms_exporter\", charset=\"UTF-8\""
        guard head else { return response }
        return Response(status: response.status, headers: response.headers)
    }
}
