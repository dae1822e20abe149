import NIOCore
import Testing

@testable import SwitchboardProviders

/// Which idle connection a request takes, which are kept, and which expire, without a socket.
@Suite struct IdleConnectionsTests {
    final class Fake: PooledConnection {
        let key: String
        var isIdle = true
        init(_ key: String) { self.key = key }
    }

    static let t0 = NIODeadline.uptimeNanoseconds(1_000_000_000)

    @Test func theWarmestUsableConnectionToTheUpstreamIsTaken() {
        var idle = IdleConnections<Fake>(maxPerKey: 4)
        let (a, b, c) = (Fake("up"), Fake("up"), Fake("other"))
        let kept = [a, b, c].map { idle.keep($0, now: Self.t0) }
        #expect(kept == [true, true, true])
        b.isIdle = false  // closed meanwhile
        let taken = [idle.take("up"), idle.take("up"), idle.take("other")]
        #expect(taken[0] === a && taken[1] == nil && taken[2] === c)
    }

    @Test func anUpstreamKeepsNoMoreThanItsLimitAndABusyConnectionIsNotKept() {
        var idle = IdleConnections<Fake>(maxPerKey: 1)
        let busy = Fake("other")
        busy.isIdle = false
        let kept = [Fake("up"), Fake("up"), busy].map { idle.keep($0, now: Self.t0) }
        #expect(kept == [true, false, false])
    }

    @Test func connectionsIdleTooLongExpireAndAClosedOneIsForgotten() {
        var idle = IdleConnections<Fake>(maxPerKey: 4)
        let (old, fresh, gone) = (Fake("up"), Fake("up"), Fake("b"))
        _ = idle.keep(old, now: Self.t0)
        _ = idle.keep(fresh, now: Self.t0 + .seconds(50))
        _ = idle.keep(gone, now: Self.t0 + .seconds(50))
        idle.remove(gone)
        let expired = idle.expire(before: Self.t0 + .seconds(10))
        #expect(expired.count == 1 && expired.first === old)
        let taken = [idle.take("up"), idle.take("b")]
        #expect(taken[0] === fresh && taken[1] == nil)
        let later = idle.expire(before: Self.t0 + .seconds(100))
        #expect(later.isEmpty && idle.isEmpty)
    }
}
