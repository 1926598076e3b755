import NIOConcurrencyHelpers
import NIOCore

/// Keeps connections that never send a request from starving `/metrics` (issue 14, item 1).
///
/// The idle timeout alone let a flood of silent connections hold every slot for as long as the
/// flood lasted (2,000 held for 20 s: a scrape waited 19.6 s). Here a new connection must
/// deliver its first request head within `firstRequestDeadline`, and once `idleCap`
/// connections are waiting for their first request, a new one evicts the oldest of them: the
/// server keeps accepting, and a scrape (which sends its request at once) gets a slot.
/// Connections that have sent a request are never evicted; between requests the idle
/// timeout applies as before.
final class ConnectionGuard: Sendable {
    let firstRequestDeadline: TimeAmount
    let idleCap: Int
    private let waiting = NIOLockedValueBox<[ObjectIdentifier: (order: UInt64, channel: any Channel)]>([:])
    private let counter = NIOLockedValueBox<UInt64>(0)

    init(firstRequestDeadline: TimeAmount, idleCap: Int) {
        self.firstRequestDeadline = firstRequestDeadline
        self.idleCap = idleCap
    }

    /// A handler for one new connection's pipeline.
    func handler() -> Handler { Handler(guard: self) }

    /// How many connections are waiting for their first request now.
    var waitingCount: Int { waiting.withLockedValue { $0.count } }

    fileprivate func opened(_ channel: any Channel) {
        let order = counter.withLockedValue { value in
            value += 1
            return value
        }
        let evicted: (any Channel)? = waiting.withLockedValue { waiting in
            waiting[ObjectIdentifier(channel)] = (order, channel)
            guard waiting.count > idleCap, let oldest = waiting.min(by: { $0.value.order < $1.value.order }) else { return nil }
            waiting[oldest.key] = nil
            return oldest.value.channel
        }
        evicted?.close(promise: nil)
    }

    fileprivate func settled(_ channel: any Channel) {
        _ = waiting.withLockedValue { $0.removeValue(forKey: ObjectIdentifier(channel)) }
    }

    /// Sits after the HTTP decoder, which passes on only whole parts: the first read is a
    /// complete request head, however slowly its bytes were trickled.
    final class Handler: ChannelInboundHandler, RemovableChannelHandler {
        typealias InboundIn = NIOAny
        private let connectionGuard: ConnectionGuard
        private var deadline: Scheduled<Void>?
        private var sawRequest = false

        fileprivate init(guard connectionGuard: ConnectionGuard) {
            self.connectionGuard = connectionGuard
        }

        func handlerAdded(context: ChannelHandlerContext) {
            if context.channel.isActive { start(context) }
        }

        func channelActive(context: ChannelHandlerContext) {
            start(context)
            context.fireChannelActive()
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            if !sawRequest {
                sawRequest = true
                stop(context)
            }
            context.fireChannelRead(data)
        }

        func channelInactive(context: ChannelHandlerContext) {
            stop(context)
            context.fireChannelInactive()
        }

        func handlerRemoved(context: ChannelHandlerContext) {
            stop(context)
        }

        private func start(_ context: ChannelHandlerContext) {
            guard deadline == nil, !sawRequest else { return }
            let channel = context.channel
            connectionGuard.opened(channel)
            deadline = context.eventLoop.scheduleTask(in: connectionGuard.firstRequestDeadline) {
                channel.close(promise: nil)
            }
        }

        private func stop(_ context: ChannelHandlerContext) {
            deadline?.cancel()
            deadline = nil
            connectionGuard.settled(context.channel)
        }
    }
}
