//! Node and edge types, with V8's names.
//!
//! Why a fixed enum when the snapshot carries its own type-name list: the
//! analyses need to branch on "is this weak / a string / an object", and the
//! parser maps each name of the file's list onto this enum, so a V8 that
//! reorders or adds types still parses.

/// A heap node's type (`snapshot.meta.node_types[0]` in a `.heapsnapshot`).
///
/// The discriminants follow V8's current order, so a `u8` column stores them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum NodeKind {
    Hidden = 0,
    Array = 1,
    String = 2,
    Object = 3,
    Code = 4,
    Closure = 5,
    RegExp = 6,
    Number = 7,
    Native = 8,
    Synthetic = 9,
    ConsString = 10,
    SlicedString = 11,
    Symbol = 12,
    BigInt = 13,
    ObjectShape = 14,
    /// A WebAssembly GC object (V8 11+).
    WasmObject = 15,
    /// A type name this code does not know (a newer V8); kept, not rejected.
    Unknown = 255,
}

const NODE_KINDS: [NodeKind; 16] = [
    NodeKind::Hidden,
    NodeKind::Array,
    NodeKind::String,
    NodeKind::Object,
    NodeKind::Code,
    NodeKind::Closure,
    NodeKind::RegExp,
    NodeKind::Number,
    NodeKind::Native,
    NodeKind::Synthetic,
    NodeKind::ConsString,
    NodeKind::SlicedString,
    NodeKind::Symbol,
    NodeKind::BigInt,
    NodeKind::ObjectShape,
    NodeKind::WasmObject,
];

impl NodeKind {
    /// V8's name of the type, as written in snapshot meta.
    pub fn name(self) -> &'static str {
        match self {
            NodeKind::Hidden => "hidden",
            NodeKind::Array => "array",
            NodeKind::String => "string",
            NodeKind::Object => "object",
            NodeKind::Code => "code",
            NodeKind::Closure => "closure",
            NodeKind::RegExp => "regexp",
            NodeKind::Number => "number",
            NodeKind::Native => "native",
            NodeKind::Synthetic => "synthetic",
            NodeKind::ConsString => "concatenated string",
            NodeKind::SlicedString => "sliced string",
            NodeKind::Symbol => "symbol",
            NodeKind::BigInt => "bigint",
            NodeKind::ObjectShape => "object shape",
            NodeKind::WasmObject => "wasm object",
            NodeKind::Unknown => "unknown",
        }
    }

    /// The kind V8 calls `name`; `Unknown` for a name this code does not know.
    pub fn from_name(name: &str) -> NodeKind {
        NODE_KINDS
            .iter()
            .copied()
            .find(|k| k.name() == name)
            .unwrap_or(NodeKind::Unknown)
    }

    /// Inverse of `kind as u8`; any other byte is `Unknown`.
    pub fn from_u8(code: u8) -> NodeKind {
        NODE_KINDS
            .get(usize::from(code))
            .copied()
            .unwrap_or(NodeKind::Unknown)
    }

    /// Plain, concatenated and sliced strings.
    pub fn is_string(self) -> bool {
        matches!(
            self,
            NodeKind::String | NodeKind::ConsString | NodeKind::SlicedString
        )
    }
}

/// A heap edge's type (`snapshot.meta.edge_types[0]`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum EdgeKind {
    /// A variable in a function's context; named.
    Context = 0,
    /// An array element; numbered.
    Element = 1,
    /// A named property.
    Property = 2,
    /// A V8-internal field; named.
    Internal = 3,
    /// A V8-internal link that is not shown to users; numbered.
    Hidden = 4,
    /// A shortcut that skips intermediate objects; named. Only the root's
    /// shortcuts (to the user's global objects) count as retaining.
    Shortcut = 5,
    /// Does not keep its target alive; named.
    Weak = 6,
    /// A type name this code does not know; treated as strong and numbered.
    Unknown = 255,
}

const EDGE_KINDS: [EdgeKind; 7] = [
    EdgeKind::Context,
    EdgeKind::Element,
    EdgeKind::Property,
    EdgeKind::Internal,
    EdgeKind::Hidden,
    EdgeKind::Shortcut,
    EdgeKind::Weak,
];

impl EdgeKind {
    /// V8's name of the type, as written in snapshot meta.
    pub fn name(self) -> &'static str {
        match self {
            EdgeKind::Context => "context",
            EdgeKind::Element => "element",
            EdgeKind::Property => "property",
            EdgeKind::Internal => "internal",
            EdgeKind::Hidden => "hidden",
            EdgeKind::Shortcut => "shortcut",
            EdgeKind::Weak => "weak",
            EdgeKind::Unknown => "unknown",
        }
    }

    /// The kind V8 calls `name`; `Unknown` for a name this code does not know.
    pub fn from_name(name: &str) -> EdgeKind {
        EDGE_KINDS
            .iter()
            .copied()
            .find(|k| k.name() == name)
            .unwrap_or(EdgeKind::Unknown)
    }

    /// Inverse of `kind as u8`; any other byte is `Unknown`.
    pub fn from_u8(code: u8) -> EdgeKind {
        EDGE_KINDS
            .get(usize::from(code))
            .copied()
            .unwrap_or(EdgeKind::Unknown)
    }

    /// Whether `name_or_index` is a string-table index (else a plain number).
    /// As in V8's serializer: element and hidden edges carry an index.
    pub fn has_string_name(self) -> bool {
        !matches!(
            self,
            EdgeKind::Element | EdgeKind::Hidden | EdgeKind::Unknown
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for k in NODE_KINDS {
            assert_eq!(NodeKind::from_name(k.name()), k);
            assert_eq!(NodeKind::from_u8(k as u8), k);
        }
        for k in EDGE_KINDS {
            assert_eq!(EdgeKind::from_name(k.name()), k);
            assert_eq!(EdgeKind::from_u8(k as u8), k);
        }
        assert_eq!(NodeKind::from_name("future type"), NodeKind::Unknown);
        assert_eq!(EdgeKind::from_u8(200), EdgeKind::Unknown);
    }
}
