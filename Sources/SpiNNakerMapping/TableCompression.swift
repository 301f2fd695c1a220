/// Table compression: drop defaultable entries, then merge entries of one key zone (layer) that
/// share a route, as the pair / ordered-covering compressors do: a merge is kept only if the
/// merged (key, mask) matches no key of an entry with another route (a dropped defaultable
/// entry counts as another route, since its packets must fall through to default routing).
/// No kept entry then overlaps an entry of another route, so entry order does not matter and
/// every key of the original table is routed as before.

/// The smallest (key, mask) matching every key that `a` or `b` matches.
public func mergedKeyAndMask(_ a: KeyAndMask, _ b: KeyAndMask) -> KeyAndMask {
    let agree = ~(a.key ^ b.key)
    let mask = a.mask & b.mask & agree
    return KeyAndMask(key: a.key & mask, mask: mask)
}

/// Compresses one table. Entries merge only when their masks cover `zoneMask` (the layer field
/// and above) and their keys agree under it; other entries are kept as they are. The input's
/// entries must not overlap one another (true of `buildRoutingTables` output, whose keys are
/// distinct vertex keys). The result is sorted by key.
public func compressTable(_ table: RoutingTable, zoneMask: UInt32) -> RoutingTable {
    var groups: [GroupKey: [RoutingEntry]] = [:]
    var merged: [RoutingEntry] = []
    for e in table.entries where !e.defaultable {
        if e.mask & zoneMask == zoneMask {
            groups[GroupKey(zone: e.key & zoneMask, route: e.route), default: []].append(e)
        } else {
            merged.append(e)
        }
    }
    for (group, members) in groups {
        // Entries this group's merges must not capture: in the zone, another route or dropped.
        let zone = KeyAndMask(key: group.zone, mask: zoneMask)
        let blockers = table.entries.filter {
            ($0.defaultable || $0.route != group.route) && $0.keyAndMask.overlaps(zone)
        }.map(\.keyAndMask)
        for km in mergeGroup(members.map(\.keyAndMask).sorted { $0.key < $1.key }, avoiding: blockers) {
            merged.append(RoutingEntry(key: km.key, mask: km.mask, route: group.route, defaultable: false))
        }
    }
    merged.sort { ($0.key, $0.mask, $0.route) < ($1.key, $1.mask, $1.route) }
    return RoutingTable(chip: table.chip, entries: merged)
}

struct GroupKey: Hashable {
    let zone: UInt32
    let route: UInt32
}

/// Greedy merge: grow each entry by absorbing later ones while the result captures no blocker.
func mergeGroup(_ members: [KeyAndMask], avoiding blockers: [KeyAndMask]) -> [KeyAndMask] {
    var remaining = members
    var result: [KeyAndMask] = []
    while !remaining.isEmpty {
        var current = remaining.removeFirst()
        var i = 0
        while i < remaining.count {
            let candidate = mergedKeyAndMask(current, remaining[i])
            if blockers.contains(where: { candidate.overlaps($0) }) {
                i += 1
            } else {
                current = candidate
                remaining.remove(at: i)
            }
        }
        result.append(current)
    }
    return result
}

/// Compresses every table, checks that each routes every key as before (`routingDifferences`) and
/// that each fits the router.
public func compressTables(_ tables: [RoutingTable], zoneMask: UInt32,
                           limit: Int = Machine.routerEntries) throws -> [RoutingTable] {
    let compressed = tables.map { compressTable($0, zoneMask: zoneMask) }
    for (original, small) in zip(tables, compressed) {
        if let problem = routingDifferences(original: original, compressed: small).first {
            throw MappingError.compressionChangedRouting(chip: original.chip, detail: problem)
        }
    }
    if let full = compressed.first(where: { $0.entries.count > limit }) {
        throw MappingError.routingTableTooLarge(chip: full.chip, entries: full.entries.count, limit: limit)
    }
    return compressed.filter { !$0.entries.isEmpty }
}

/// Where `compressed` routes a key differently from `original`, whose entries must not overlap
/// (each key that reaches the chip matches at most one of them). Checked symbolically, a whole
/// (key, mask) region at a time: a region is compared with the first compressed entry that can
/// match one of its keys; if that entry matches only part of the region, the region is split on
/// one of the entry's mask bits and each half checked again. A key of a defaultable entry must
/// match no compressed entry (it falls to default routing) or one with the same route; any other
/// key must first match an entry with its route. Empty when the tables agree on every key.
/// The work grows with the partial overlaps met; compressed entries that each cover whole original
/// entries or none (what `compressTable` makes) need no split at all. Past `maxRegions` region checks
/// the comparison stops and says so.
public func routingDifferences(original: RoutingTable, compressed: RoutingTable, maxRegions: Int = 1 << 22) -> [String] {
    var problems: [String] = []
    var regions = 0
    func check(_ region: KeyAndMask, from start: Int, as entry: RoutingEntry) {
        regions += 1
        if regions == maxRegions { problems.append("more than \(maxRegions) key regions to compare: not checked to the end") }
        if regions >= maxRegions { return }
        var j = start
        while j < compressed.entries.count, !compressed.entries[j].keyAndMask.overlaps(region) { j += 1 }
        guard j < compressed.entries.count else {
            if !entry.defaultable { problems.append("keys \(region) of entry \(entry) match no entry any more") }
            return
        }
        let c = compressed.entries[j]
        let extra = c.mask & ~region.mask
        if extra == 0 {
            if c.route != entry.route {
                problems.append("keys \(region) of entry \(entry) now take route 0x\(String(c.route, radix: 16))")
            }
            return
        }
        // Split on the lowest mask bit of c that the region leaves free.
        let bit = extra & (~extra &+ 1)
        let mask = region.mask | bit
        check(KeyAndMask(key: region.key, mask: mask), from: j, as: entry)
        check(KeyAndMask(key: region.key | bit, mask: mask), from: j, as: entry)
    }
    for e in original.entries where problems.count < 10 {
        check(e.keyAndMask, from: 0, as: e)
    }
    return problems
}
