/// Whether any lane of a comparison is true. The standard library's `any(_:)` reduces the lanes
/// with a `min()` that the compiler leaves as a call (a few percent of the forward pass); OR-ing
/// the mask's four 64-bit words compiles to one `vptest`.
@inline(__always)
public func anyLane(_ mask: SIMDMask<SIMD8<Int32>>) -> Bool {
    let words = unsafeBitCast(mask, to: (UInt64, UInt64, UInt64, UInt64).self)
    return (words.0 | words.1 | words.2 | words.3) != 0
}
