import NIOCore

/// Runs a task's jobs on one NIO event loop. A request answered under this preference stays on its
/// connection's loop from the first byte to the last: the upstream client serves it from that loop's pool,
/// and every `await` on a future the loop completes resumes there, without a wake-up of another thread.
///
/// Only for work that never blocks: what runs here holds up every other connection of the loop.
final class EventLoopTaskExecutor: TaskExecutor {
    let eventLoop: any EventLoop

    init(_ eventLoop: any EventLoop) {
        self.eventLoop = eventLoop
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        eventLoop.execute { [self] in
            job.runSynchronously(on: asUnownedTaskExecutor())
        }
    }
}
