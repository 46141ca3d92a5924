@testable import TandemServer
import Testing

@Suite("Recent readings: the bounded cache of the model's readings")
struct RecentReadingsTests {
    @Test("keeps at most its capacity, pushing out the oldest key; a kept key replaced keeps its place")
    func boundedOldestFirst() {
        var cache = RecentReadings<String, Int>(capacity: 3)
        cache.insert(1, for: "a")
        cache.insert(2, for: "b")
        cache.insert(3, for: "c")
        cache.insert(20, for: "b")
        #expect(cache.count == 3)
        #expect(cache["b"] == 20)
        cache.insert(4, for: "d")
        #expect(cache["a"] == nil, "the oldest key goes first")
        #expect(cache["b"] == 20 && cache["c"] == 3 && cache["d"] == 4)
        cache.insert(5, for: "e")
        cache.insert(6, for: "f")
        #expect(cache.count == 3)
        #expect(cache["b"] == nil && cache["c"] == nil)
        #expect(cache["d"] == 4 && cache["e"] == 5 && cache["f"] == 6)
        cache.removeAll()
        #expect(cache.count == 0 && cache["f"] == nil)
        cache.insert(7, for: "g")
        #expect(cache["g"] == 7 && cache.count == 1)
    }
}
