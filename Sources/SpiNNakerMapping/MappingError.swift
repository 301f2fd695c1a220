/// Every failure of the mapping pipeline. Each case carries enough context to act on it:
/// the file and field of a bad machine description, the cores needed and available, the chip
/// whose routing table is too large.
public enum MappingError: Error, Equatable, Sendable, CustomStringConvertible {
    /// A machine description file could not be read or parsed at all.
    case unreadableDescription(file: String, reason: String)
    /// A machine description file parsed, but one field is wrong.
    case invalidDescription(file: String, field: String, reason: String)
    /// A machine built in code is inconsistent (coordinates out of range, no root chip, ...).
    case invalidMachine(String)
    /// The layer chain or a mapping parameter is unusable.
    case invalidNetwork(String)
    /// The network needs more application cores than the machine has.
    case doesNotFit(coresNeeded: Int, coresAvailable: Int)
    /// The zoned keys need more than 32 bits.
    case keySpaceTooLarge(bitsNeeded: Int)
    /// No path over live links joins the source chip to a sink chip.
    case noRoute(from: ChipCoordinate, to: ChipCoordinate)
    /// A routing table is still too long after compression.
    case routingTableTooLarge(chip: ChipCoordinate, entries: Int, limit: Int)
    /// Table compression changed where some key goes (a bug guard: never expected).
    case compressionChangedRouting(chip: ChipCoordinate, detail: String)
    /// A PACMAN file could not be encoded or written.
    case writeFailed(path: String, reason: String)

    public var description: String {
        switch self {
        case let .unreadableDescription(file, reason):
            return "machine description \(file): \(reason)"
        case let .invalidDescription(file, field, reason):
            return "machine description \(file), field \"\(field)\": \(reason)"
        case let .invalidMachine(reason):
            return "invalid machine: \(reason)"
        case let .invalidNetwork(reason):
            return "invalid network: \(reason)"
        case let .doesNotFit(needed, available):
            return "network does not fit: it needs \(needed) application cores, the machine has \(available)"
        case let .keySpaceTooLarge(bits):
            return "routing keys need \(bits) bits, more than the 32 a key has"
        case let .noRoute(from, to):
            return "no route over live links from chip \(from) to chip \(to)"
        case let .routingTableTooLarge(chip, entries, limit):
            return "routing table of chip \(chip) has \(entries) entries after compression, the router holds \(limit)"
        case let .compressionChangedRouting(chip, detail):
            return "compressing the routing table of chip \(chip) changed its routing: \(detail)"
        case let .writeFailed(path, reason):
            return "cannot write \(path): \(reason)"
        }
    }
}
