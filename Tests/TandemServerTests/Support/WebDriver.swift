import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import TandemOffline
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A small W3C WebDriver client for the browser tests: it starts `chromedriver` as a child
/// process, opens headless Chromium sessions and drives them over the JSON wire protocol.
/// No third-party code beyond what Vapor already brings: requests go through AsyncHTTPClient.
struct WebDriverError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// The chromedriver process. Start it with `WebDriver.with { driver in ... }`, which always
/// ends every session and the process, also when the body throws.
final class WebDriver: @unchecked Sendable {
    static let driverPath = "/usr/bin/chromedriver"
    static let browserPath = "/usr/bin/chromium"

    /// Why the browser tests cannot run here, or nil when they can.
    static var missingBrowser: String? {
        let fm = FileManager.default
        let missing = [driverPath, browserPath].filter { !fm.isExecutableFile(atPath: $0) }
        if missing.isEmpty { return nil }
        return "missing \(missing.joined(separator: " and ")): install Debian's chromium and chromium-driver packages (make test does)"
    }

    let baseURL: String
    let port: Int
    private let process: Process
    private let logURL: URL
    private let lock = NSLock()
    private var sessions: [BrowserSession] = []
    private var stopped = false

    private init(process: Process, port: Int, logURL: URL) {
        self.process = process
        self.port = port
        self.logURL = logURL
        self.baseURL = "http://127.0.0.1:\(port)"
    }

    /// Runs `body` with a started driver and always stops it afterwards.
    static func with<T>(_ body: (WebDriver) async throws -> T) async throws -> T {
        let driver = try await start()
        do {
            let result = try await body(driver)
            await driver.stop()
            return result
        } catch {
            await driver.stop()
            throw error
        }
    }

    /// Spawns `chromedriver --port=<free port>` and waits until its /status says ready.
    static func start(timeout: TimeInterval = 20) async throws -> WebDriver {
        if let missingBrowser { throw WebDriverError(missingBrowser) }
        let port = try LoopbackPort.free()
        let logURL = FileManager.default.temporaryDirectory.appendingPathComponent("chromedriver-\(port)-\(UUID().uuidString.prefix(8)).log")
        _ = FileManager.default.createFile(atPath: logURL.path, contents: nil)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: driverPath)
        process.arguments = ["--port=\(port)", "--log-path=\(logURL.path)"]
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        let driver = WebDriver(process: process, port: port, logURL: logURL)

        let deadline = Date().addingTimeInterval(timeout)
        var lastProblem = "no answer"
        while Date() < deadline {
            if !process.isRunning {
                throw WebDriverError("chromedriver exited with status \(process.terminationStatus) before it was ready; log: \(driver.driverLogTail())")
            }
            do {
                let value = try await driver.request("GET", "/status")
                if let status = value as? [String: Any], status["ready"] as? Bool == true { return driver }
                lastProblem = "not ready: \(String(describing: value))"
            } catch {
                lastProblem = "\(error)"
            }
            try await Task.sleep(nanoseconds: 100_000_000)
        }
        await driver.stop()
        throw WebDriverError("chromedriver on port \(port) was not ready within \(Int(timeout)) s (\(lastProblem))")
    }

    /// Opens a new headless Chromium window; the browser's console log is recorded.
    func newSession(name: String) async throws -> BrowserSession {
        let capabilities: [String: Any] = [
            "capabilities": [
                "alwaysMatch": [
                    "browserName": "chrome",
                    "goog:chromeOptions": [
                        "binary": Self.browserPath,
                        "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                                 "--window-size=1280,900", "--no-first-run", "--no-default-browser-check",
                                 "--disable-background-networking", "--disable-extensions"],
                    ] as [String: Any],
                    "goog:loggingPrefs": ["browser": "ALL"],
                    "timeouts": ["pageLoad": 30_000, "script": 30_000, "implicit": 0],
                ] as [String: Any],
            ],
        ]
        let value = try await request("POST", "/session", body: capabilities, timeout: 60)
        guard let object = value as? [String: Any], let id = object["sessionId"] as? String else {
            throw WebDriverError("new session: unexpected answer \(String(describing: value))")
        }
        let session = BrowserSession(driver: self, id: id, name: name)
        lock.withLock { sessions.append(session) }
        return session
    }

    /// Ends every open session (closing its browser) and then the chromedriver process.
    func stop() async {
        let open: [BrowserSession]? = lock.withLock {
            if stopped { return nil }
            stopped = true
            defer { sessions = [] }
            return sessions
        }
        guard let open else { return }
        for session in open { await session.delete() }
        if process.isRunning {
            process.terminate()
            let deadline = Date().addingTimeInterval(5)
            while process.isRunning, Date() < deadline { try? await Task.sleep(nanoseconds: 50_000_000) }
            if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        }
        try? FileManager.default.removeItem(at: logURL)
    }

    fileprivate func forget(_ session: BrowserSession) {
        lock.withLock { sessions.removeAll { $0 === session } }
    }

    func driverLogTail(_ characters: Int = 2000) -> String {
        guard let data = FileManager.default.contents(atPath: logURL.path) else { return "(no log)" }
        return String(String(decoding: data, as: UTF8.self).suffix(characters))
    }

    // MARK: Wire protocol

    /// Sends one command and returns the `value` of the answer; W3C errors become WebDriverError.
    func request(_ method: String, _ path: String, body: Any? = nil, timeout: TimeInterval = 45) async throws -> Any? {
        var request = HTTPClientRequest(url: baseURL + path)
        request.method = HTTPMethod(rawValue: method)
        if body != nil || method == "POST" {
            let data = try body.map { try JSONSerialization.data(withJSONObject: $0) } ?? Data("{}".utf8)
            request.headers.add(name: "Content-Type", value: "application/json; charset=utf-8")
            request.body = .bytes(ByteBuffer(bytes: data))
        }
        let response = try await HTTPClient.shared.execute(request, timeout: .milliseconds(Int64(timeout * 1000)))
        let buffer = try await response.body.collect(upTo: 128 << 20) // screenshots are a few MB of base64
        let data = Data(buffer.readableBytesView)
        let status = Int(response.status.code)
        let json = data.isEmpty ? nil : try? JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed])
        let value = (json as? [String: Any])?["value"]
        if !(200..<300).contains(status) {
            let error = value as? [String: Any]
            let code = error?["error"] as? String ?? "HTTP \(status)"
            let message = (error?["message"] as? String).map { String($0.prefix(600)) } ?? String(decoding: data.prefix(600), as: UTF8.self)
            throw WebDriverCommandError(command: "\(method) \(path)", code: code, message: message)
        }
        return value is NSNull ? nil : value
    }
}

struct WebDriverCommandError: Error, CustomStringConvertible {
    let command: String
    let code: String
    let message: String
    var description: String { "WebDriver \(command): \(code): \(message)" }
}

/// One entry of the browser's console log.
struct ConsoleEntry: Sendable, CustomStringConvertible {
    let level: String
    let message: String
    let source: String
    var description: String { "[\(level)] \(message)" }
}

/// One browser window (a WebDriver session).
final class BrowserSession: @unchecked Sendable {
    static let elementKey = "element-6066-11e4-a52e-4f735466cecf"

    let id: String
    let name: String
    private let driver: WebDriver
    private let lock = NSLock()
    private var log: [ConsoleEntry] = []
    private var deleted = false

    fileprivate init(driver: WebDriver, id: String, name: String) {
        self.driver = driver
        self.id = id
        self.name = name
    }

    @discardableResult
    func command(_ method: String, _ path: String, body: Any? = nil, timeout: TimeInterval = 45) async throws -> Any? {
        try await driver.request(method, "/session/\(id)" + path, body: body, timeout: timeout)
    }

    // MARK: Navigation and pages

    func navigate(_ url: String) async throws {
        try await command("POST", "/url", body: ["url": url])
    }

    func currentURL() async throws -> String {
        try await command("GET", "/url") as? String ?? ""
    }

    func title() async throws -> String {
        try await command("GET", "/title") as? String ?? ""
    }

    /// Runs `script` as a function body (use `return`); `arguments` may hold elements.
    @discardableResult
    func execute(_ script: String, _ arguments: [Any] = []) async throws -> Any? {
        let args = arguments.map { ($0 as? Element).map { [Self.elementKey: $0.id] as Any } ?? $0 }
        return try await command("POST", "/execute/sync", body: ["script": script, "args": args])
    }

    /// The page's visible text (document.body.innerText).
    func pageText() async throws -> String {
        try await execute("return document.body ? document.body.innerText : '';") as? String ?? ""
    }

    // MARK: Elements

    struct Element: Sendable {
        let id: String
        let selector: String
    }

    func find(_ css: String) async throws -> Element {
        let value = try await command("POST", "/element", body: ["using": "css selector", "value": css])
        guard let object = value as? [String: Any], let id = object[Self.elementKey] as? String else {
            throw WebDriverError("\(name): no element id for '\(css)' in \(String(describing: value))")
        }
        return Element(id: id, selector: css)
    }

    func findAll(_ css: String) async throws -> [Element] {
        let value = try await command("POST", "/elements", body: ["using": "css selector", "value": css])
        return (value as? [[String: Any]] ?? []).compactMap { ($0[Self.elementKey] as? String).map { Element(id: $0, selector: css) } }
    }

    /// Whether `css` matches at least one element right now.
    func exists(_ css: String) async throws -> Bool {
        try await !findAll(css).isEmpty
    }

    func click(_ element: Element) async throws {
        try await command("POST", "/element/\(element.id)/click")
    }

    func click(_ css: String) async throws {
        try await click(try await find(css))
    }

    func sendKeys(_ element: Element, _ text: String) async throws {
        try await command("POST", "/element/\(element.id)/value", body: ["text": text])
    }

    func sendKeys(_ css: String, _ text: String) async throws {
        try await sendKeys(try await find(css), text)
    }

    func clear(_ css: String) async throws {
        try await command("POST", "/element/\(try await find(css).id)/clear")
    }

    func text(_ element: Element) async throws -> String {
        try await command("GET", "/element/\(element.id)/text") as? String ?? ""
    }

    func text(_ css: String) async throws -> String {
        try await text(try await find(css))
    }

    func attribute(_ css: String, _ name: String) async throws -> String? {
        try await command("GET", "/element/\(try await find(css).id)/attribute/\(name)") as? String
    }

    /// A DOM property (`value` of a textarea is a property, not an attribute).
    func property(_ css: String, _ name: String) async throws -> Any? {
        try await command("GET", "/element/\(try await find(css).id)/property/\(name)")
    }

    func value(_ css: String) async throws -> String {
        try await property(css, "value") as? String ?? ""
    }

    func isDisplayed(_ css: String) async throws -> Bool {
        try await command("GET", "/element/\(try await find(css).id)/displayed") as? Bool ?? false
    }

    func isEnabled(_ css: String) async throws -> Bool {
        try await command("GET", "/element/\(try await find(css).id)/enabled") as? Bool ?? false
    }

    /// Whether every one of `selectors` matches an enabled element.
    func allEnabled(_ selectors: String...) async throws -> Bool {
        for css in selectors {
            if try await !isEnabled(css) { return false }
        }
        return true
    }

    // MARK: Waiting

    /// Polls `condition` until it is true; errors while polling (an element not there yet, a
    /// stale element) count as "not yet". On timeout the error says what was awaited, the URL,
    /// the page's current text and any console errors.
    func waitUntil(_ what: String, timeout: TimeInterval = 60, interval: TimeInterval = 0.1,
                   _ condition: () async throws -> Bool) async throws {
        let deadline = Date().addingTimeInterval(timeout)
        var lastError: (any Error)?
        while true {
            do {
                if try await condition() { return }
                lastError = nil
            } catch {
                lastError = error
            }
            if Date() >= deadline { break }
            try await Task.sleep(nanoseconds: UInt64(interval * 1_000_000_000))
        }
        let url = (try? await currentURL()) ?? "?"
        let text = (try? await pageText()) ?? "(page text unavailable)"
        _ = try? await collectLog()
        let problems = consoleLog.filter { $0.level == "SEVERE" || $0.level == "WARNING" }
        var message = "\(name): timed out after \(Int(timeout)) s waiting until \(what)\n  at \(url)"
        if let lastError { message += "\n  last error: \(lastError)" }
        message += "\n  page text:\n" + String(text.prefix(3000)).split(separator: "\n", omittingEmptySubsequences: false).map { "    | " + $0 }.joined(separator: "\n")
        if !problems.isEmpty { message += "\n  console:\n" + problems.map { "    \($0)" }.joined(separator: "\n") }
        throw WebDriverError(message)
    }

    /// Waits until `css` matches an element and returns it.
    @discardableResult
    func waitFor(_ css: String, timeout: TimeInterval = 60) async throws -> Element {
        var found: Element?
        try await waitUntil("'\(css)' exists", timeout: timeout) {
            found = try await findAll(css).first
            return found != nil
        }
        return found!
    }

    /// Waits until an element matching `css` has text containing `fragment` (case-insensitive).
    func waitForText(_ css: String, containing fragment: String, timeout: TimeInterval = 60) async throws {
        try await waitUntil("an element '\(css)' shows text containing \"\(fragment)\"", timeout: timeout) {
            for element in try await findAll(css) {
                if try await text(element).localizedCaseInsensitiveContains(fragment) { return true }
            }
            return false
        }
    }

    // MARK: Screenshots and logs

    /// Saves a PNG of the window to `file`.
    func screenshot(to file: URL) async throws {
        guard let base64 = try await command("GET", "/screenshot") as? String, let data = Data(base64Encoded: base64) else {
            throw WebDriverError("\(name): screenshot returned no PNG")
        }
        try FileManager.default.createDirectory(at: file.deletingLastPathComponent(), withIntermediateDirectories: true)
        try data.write(to: file)
    }

    /// Fetches the browser console entries logged since the last call and keeps them.
    @discardableResult
    func collectLog() async throws -> [ConsoleEntry] {
        let value = try await command("POST", "/se/log", body: ["type": "browser"])
        let entries = (value as? [[String: Any]] ?? []).map {
            ConsoleEntry(level: $0["level"] as? String ?? "", message: $0["message"] as? String ?? "", source: $0["source"] as? String ?? "")
        }
        lock.withLock { log.append(contentsOf: entries) }
        return entries
    }

    /// Every console entry collected so far.
    var consoleLog: [ConsoleEntry] {
        lock.withLock { log }
    }

    /// Collects the log and returns its SEVERE entries (JavaScript errors, failed requests),
    /// leaving out a missing favicon.
    func severeConsoleErrors() async throws -> [ConsoleEntry] {
        try await collectLog()
        return consoleLog.filter { $0.level == "SEVERE" && !$0.message.localizedCaseInsensitiveContains("favicon") }
    }

    /// Closes the window (best effort; the driver's stop() calls it for every open session).
    func delete() async {
        let first = lock.withLock {
            defer { deleted = true }
            return !deleted
        }
        guard first else { return }
        _ = try? await driver.request("DELETE", "/session/\(id)", timeout: 20)
        driver.forget(self)
    }
}
