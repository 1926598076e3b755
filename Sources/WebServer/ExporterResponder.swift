import BatterySession
import Exposition
import Hummingbird

/// Answers the exporter's three pages; everything else is 404, a known page with the wrong
/// method 405. A plain switch rather than a router: three fixed paths need no more.
public struct ExporterResponder: HTTPResponder {
    public typealias Context = BasicRequestContext

    let store: StatusStore
    let telemetryPath: String
    let adapters: AdapterStore?

    public init(store: StatusStore, telemetryPath: String, adapters: AdapterStore? = nil) {
        self.store = store
        self.telemetryPath = telemetryPath
        self.adapters = adapters
    }

    public func respond(to request: Request, context: Context) async throws -> Response {
        let path = request.uri.path
        let page: Page
        switch path {
        case telemetryPath: page = .metrics
        case "/": page = .landing
        case "/-/healthy": page = .healthy
        default:
            return Self.text(.notFound, "404 page not found\n")
        }
        guard request.method == .get || request.method == .head else {
            var response = Self.text(.methodNotAllowed, "405 method not allowed: use GET\n")
            response.headers[.allow] = "GET, HEAD"
            return response
        }
        let response = render(page)
        guard request.method == .head else { return response }
        var head = Response(status: response.status, headers: response.headers)
        head.headers[.contentLength] = response.headers[.contentLength]
        return head
    }

    private enum Page { case metrics, landing, healthy }

    private func render(_ page: Page) -> Response {
        switch page {
        case .metrics:
            let body = MetricsRenderer.render(
                store.snapshot(), now: WallClock.now(), uptime: Uptime.now(), process: ProcessCollector.snapshot(),
                adapters: adapters?.snapshot() ?? [])
            return Self.response(.ok, contentType: MetricsRenderer.contentType, body)
        case .landing:
            let body = LandingPage.render(
                store.snapshot(), telemetryPath: telemetryPath, now: WallClock.now(), uptime: Uptime.now(),
                adapters: adapters?.snapshot() ?? [])
            return Self.response(.ok, contentType: "text/html; charset=utf-8", body)
        case .healthy:
            return Self.text(.ok, "Healthy\n")
        }
    }

    static func text(_ status: HTTPResponse.Status, _ body: String) -> Response {
        response(status, contentType: "text/plain; charset=utf-8", body)
    }

    static func response(_ status: HTTPResponse.Status, contentType: String, _ body: String) -> Response {
        let buffer = ByteBuffer(string: body)
        var headers = HTTPFields()
        headers[.contentType] = contentType
        headers[.contentLength] = String(buffer.readableBytes)
        return Response(status: status, headers: headers, body: ResponseBody(byteBuffer: buffer))
    }
}
