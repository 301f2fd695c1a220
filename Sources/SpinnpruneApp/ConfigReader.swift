import Foundation

/// A bad config: names the file and the field.
public struct ConfigError: Error, CustomStringConvertible {
    public let file: String
    public let field: String
    public let message: String
    public var description: String { "\(file): \(field.isEmpty ? "" : "\(field): ")\(message)" }
}

/// Typed reads over a JSON object that remember where they are, so every error names its field,
/// and that refuse keys nobody read (a typo is an error, not a silent default).
struct ConfigReader {
    let file: String
    let path: String
    let object: [String: Any]
    private let seen: SeenKeys

    final class SeenKeys { var keys = Set<String>() }

    init(file: String, path: String, object: [String: Any]) {
        self.file = file; self.path = path; self.object = object; seen = SeenKeys()
    }

    static func load(_ url: URL) throws -> ConfigReader {
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw ConfigError(file: url.path, field: "", message: "cannot read the file (\(error.localizedDescription))")
        }
        let json: Any
        do { json = try JSONSerialization.jsonObject(with: data) } catch {
            throw ConfigError(file: url.path, field: "", message: "not valid JSON (\((error as NSError).userInfo["NSDebugDescription"] ?? error))")
        }
        guard let obj = json as? [String: Any] else {
            throw ConfigError(file: url.path, field: "", message: "the top level must be a JSON object")
        }
        return ConfigReader(file: url.path, path: "", object: obj)
    }

    func field(_ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }
    func fail(_ key: String, _ message: String) -> ConfigError { ConfigError(file: file, field: field(key), message: message) }

    func has(_ key: String) -> Bool { object[key] != nil && !(object[key] is NSNull) }

    /// A JSON value as the user wrote it: "5" for a string, true for a boolean.
    func show(_ v: Any) -> String {
        if isJSONBool(v) { return (v as? Bool) == true ? "true" : "false" }
        if let s = v as? String { return "\"\(s)\"" }
        if v is [Any] { return "a list" }
        if v is [String: Any] { return "an object" }
        return "\(v)"
    }

    /// For a missing required key: the keys here that nobody reads, likely the misspelt one.
    func missing(_ key: String, _ what: String) -> ConfigError {
        let known = Set(ConfigReader.knownKeys)
        let strays = object.keys.filter { !known.contains($0) }.sorted()
        let hint = strays.isEmpty ? "" : " (unknown key\(strays.count > 1 ? "s" : "") here: \(strays.map { "\"\($0)\"" }.joined(separator: ", ")))"
        return fail(key, "missing (\(what) is required)\(hint)")
    }

    /// Every key any part of a config may hold, for telling a typo from a key of another section.
    static let knownKeys = ["name", "seed", "timesteps", "batch_size", "dataset", "format", "path", "train_limit", "test_limit",
                            "preprocess", "dog", "size", "sigma_center", "sigma_surround", "colour", "layers", "type", "kernel", "stride",
                            "pad", "maps", "epochs", "stdp", "rule", "a", "b", "tau", "threshold", "eta", "target_time", "min", "on_silence",
                            "init_mean", "init_std", "weights", "init", "mean", "std", "a_minus", "low", "high", "anneal", "pruning", "final_sparsity",
                            "start_epoch", "end_epoch", "ramp", "mode", "final_threshold", "unit", "reinforcement", "window", "wta_infer", "readout", "grid", "C", "epsilon", "solver",
                            "spinnaker", "enabled", "machine", "neurons_per_core", "placer", "ner_radius", "traffic_images", "categories", "split", "train_per_category",
                            "grey", "width", "height", "whitening", "patch_size", "keep", "max_patches",
                            "distribution", "groups"]

    private func raw(_ key: String) -> Any? {
        seen.keys.insert(key)
        let v = object[key]
        return v is NSNull ? nil : v
    }

    func string(_ key: String, default d: String? = nil, oneOf choices: [String]? = nil) throws -> String {
        guard let v = raw(key) else {
            if let d { return d }
            throw missing(key, "a string")
        }
        guard let s = v as? String else { throw fail(key, "expected a string, got \(show(v))") }
        if let choices, !choices.contains(s) {
            throw fail(key, "must be one of \(choices.joined(separator: ", ")), got \"\(s)\"")
        }
        return s
    }

    func int(_ key: String, default d: Int? = nil, min lo: Int? = nil, max hi: Int? = nil) throws -> Int {
        guard let v = raw(key) else {
            if let d { return d }
            throw missing(key, "an integer")
        }
        guard let n = v as? NSNumber, !isJSONBool(v), n.doubleValue == n.doubleValue.rounded() else {
            throw fail(key, "expected an integer, got \(show(v))")
        }
        guard abs(n.doubleValue) < 1e15 else { throw fail(key, "\(v) is too large (at most 10^15)") }
        let i = n.intValue
        if let lo, i < lo { throw fail(key, "must be at least \(lo), got \(i)") }
        if let hi, i > hi { throw fail(key, "must be at most \(hi), got \(i)") }
        return i
    }

    func optionalInt(_ key: String, min lo: Int? = nil) throws -> Int? {
        has(key) ? try int(key, min: lo) : { seen.keys.insert(key); return nil }()
    }

    func double(_ key: String, default d: Double? = nil, min lo: Double? = nil, max hi: Double? = nil,
                openMin: Bool = false, openMax: Bool = false) throws -> Double {
        guard let v = raw(key) else {
            if let d { return d }
            throw missing(key, "a number")
        }
        guard let n = v as? NSNumber, !isJSONBool(v), n.doubleValue.isFinite else { throw fail(key, "expected a number, got \(show(v))") }
        let x = n.doubleValue
        if let lo, openMin ? x <= lo : x < lo { throw fail(key, "must be \(openMin ? ">" : ">=") \(lo), got \(x)") }
        if let hi, openMax ? x >= hi : x > hi { throw fail(key, "must be \(openMax ? "<" : "<=") \(hi), got \(x)") }
        return x
    }

    /// A list of strings, each non-empty.
    func strings(_ key: String, default d: [String]) throws -> [String] {
        guard let v = raw(key) else { return d }
        guard let a = v as? [Any] else { throw fail(key, "expected a list of strings, got \(show(v))") }
        return try a.enumerated().map { i, e in
            guard let s = e as? String, !s.isEmpty else {
                throw ConfigError(file: file, field: "\(field(key))[\(i)]", message: "expected a non-empty string, got \(show(e))")
            }
            return s
        }
    }

    func bool(_ key: String, default d: Bool) throws -> Bool {
        guard let v = raw(key) else { return d }
        guard isJSONBool(v), let b = v as? Bool else { throw fail(key, "expected true or false, got \(v)") }
        return b
    }

    func object(_ key: String, required: Bool = true) throws -> ConfigReader? {
        guard let v = raw(key) else {
            if required { throw missing(key, "an object") }
            return nil
        }
        guard let o = v as? [String: Any] else { throw fail(key, "expected an object") }
        return ConfigReader(file: file, path: field(key), object: o)
    }

    func array(_ key: String) throws -> [ConfigReader] {
        guard let v = raw(key) else { throw missing(key, "a list") }
        guard let a = v as? [Any] else { throw fail(key, "expected a list") }
        return try a.enumerated().map { i, e in
            guard let o = e as? [String: Any] else {
                throw ConfigError(file: file, field: "\(field(key))[\(i)]", message: "expected an object")
            }
            return ConfigReader(file: file, path: "\(field(key))[\(i)]", object: o)
        }
    }

    /// Call after reading: any key not read is a typo or an unsupported option.
    func rejectUnknownKeys() throws {
        let unknown = Set(object.keys).subtracting(seen.keys).sorted()
        if let k = unknown.first { throw fail(k, "unknown key (check the spelling; see docs/CONFIG.md)") }
    }
}

/// JSON true/false arrive as a boolean NSNumber subclass; plain numbers also cast to Bool on Linux,
/// so ask the number's type instead.
func isJSONBool(_ v: Any) -> Bool {
    guard let n = v as? NSNumber else { return false }
    return String(describing: type(of: n)).contains("Boolean")
}
