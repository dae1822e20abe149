import NIOCore

/// Runs a task's jobs on one NIO event loop, so code under this preference may use the loop's channel
/// handler contexts directly (a direct response's writes); an `await` on a future the loop completes resumes
/// there without waking another thread.
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
