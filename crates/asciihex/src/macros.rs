//! The shapes every ASCII-hex protocol crate states: its command table, the request target
//! of 0x42/0x44, and its request and response body enums dispatched by command code.

/// Declares a protocol's command codes (CID2 of requests) once: a `pub const` per command
/// and `pub const fn name(code) -> Option<&'static str>` (its `snake_case` name).
///
/// ```
/// pub mod command {
///     voltwire_asciihex::command_table! {
///         /// Analog values.
///         ANALOG = 0x42 => "analog",
///         /// Protocol version.
///         PROTOCOL_VERSION = 0x4F => "protocol_version",
///     }
/// }
/// assert_eq!(command::ANALOG, 0x42);
/// assert_eq!(command::name(0x4F), Some("protocol_version"));
/// assert_eq!(command::name(0x00), None);
/// ```
#[macro_export]
macro_rules! command_table {
    ($( $(#[$meta:meta])* $name:ident = $code:literal => $label:literal ),* $(,)?) => {
        $( $(#[$meta])* pub const $name: u8 = $code; )*

        /// A short `snake_case` name of a command code.
        pub const fn name(code: u8) -> ::core::option::Option<&'static str> {
            ::core::option::Option::Some(match code {
                $( $name => $label, )*
                _ => return ::core::option::Option::None,
            })
        }
    };
}

/// Declares the target of a 0x42/0x44 request: one module by number, or `All` (INFO byte
/// 0xFF). Generated: `byte`, `from_byte`, the accessor named after `as` (`None` for all),
/// `From` both ways with `u8`, the usual derives and `defmt::Format` under the calling crate's
/// `defmt` feature.
///
/// ```
/// voltwire_asciihex::request_target! {
///     /// Which module a request asks about.
///     pub enum Target {
///         /// One module by its address (never 0xFF).
///         Module(u8) as module,
///         /// Every module.
///         All,
///     }
/// }
/// assert_eq!(Target::from_byte(0xFF), Target::All);
/// assert_eq!(Target::from(2).module(), Some(2));
/// assert_eq!(u8::from(Target::All), 0xFF);
/// ```
#[macro_export]
macro_rules! request_target {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident {
            $(#[$one_meta:meta])* $one:ident(u8) as $getter:ident,
            $(#[$all_meta:meta])* All $(,)?
        }
    ) => {
        $(#[$meta])*
        #[cfg_attr(feature = "defmt", derive(defmt::Format))]
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        $vis enum $name {
            $(#[$one_meta])*
            $one(u8),
            $(#[$all_meta])*
            All,
        }

        impl $name {
            /// The INFO byte.
            $vis const fn byte(self) -> u8 {
                match self {
                    Self::$one(n) => n,
                    Self::All => 0xFF,
                }
            }

            /// The target of an INFO byte (0xFF = all).
            $vis const fn from_byte(b: u8) -> Self {
                if b == 0xFF { Self::All } else { Self::$one(b) }
            }

            /// The number asked for; `None` for all.
            $vis const fn $getter(self) -> ::core::option::Option<u8> {
                match self {
                    Self::$one(n) => ::core::option::Option::Some(n),
                    Self::All => ::core::option::Option::None,
                }
            }
        }

        impl ::core::convert::From<u8> for $name {
            /// The target of an INFO byte (`from_byte`).
            fn from(b: u8) -> Self {
                Self::from_byte(b)
            }
        }

        impl ::core::convert::From<$name> for u8 {
            /// The INFO byte (`byte`).
            fn from(v: $name) -> Self {
                v.byte()
            }
        }
    };
}

/// Declares a request or response body enum: each variant with the command code it carries
/// (`=> code`, or `for (bindings) => expression` / `for { field, .. } => expression` when the
/// code depends on the variant's values). Generated: the enum (the usual derives,
/// `#[non_exhaustive]`, `defmt::Format` under the calling crate's `defmt` feature, and
/// `large_enum_variant` allowed: `no_std` without alloc cannot box the fixed-capacity
/// variants) and an inherent `command(&self) -> u8`, which the protocol's
/// [`Body`](crate::message::Body) impl returns. The enum may take caller-sized capacities as
/// `const` parameters with defaults (`pub enum ResponseBody<const N: usize = MAX_INFO_LEN>`),
/// used in the variants (`Info<N>`).
///
/// ```
/// use voltwire_asciihex::Info;
///
/// voltwire_asciihex::body_enum! {
///     /// What a request asks for.
///     pub enum RequestBody {
///         /// 0x4F, no INFO.
///         ProtocolVersion => 0x4F,
///         /// 0x42, one INFO byte.
///         Analog(u8) => 0x42,
///         /// Any other command.
///         Other {
///             /// CID2.
///             cid2: u8,
///             /// INFO as sent.
///             info: Info,
///         } for { cid2, .. } => *cid2,
///     }
/// }
/// assert_eq!(RequestBody::Analog(2).command(), 0x42);
/// assert_eq!(RequestBody::Other { cid2: 0x99, info: Info::new() }.command(), 0x99);
/// ```
#[macro_export]
macro_rules! body_enum {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident $( < $( const $g:ident : usize = $gd:path ),+ $(,)? > )? {
            $(
                $(#[$vmeta:meta])*
                $variant:ident
                $( ( $($tty:ty),* $(,)? ) )?
                $( { $( $(#[$fmeta:meta])* $fname:ident : $fty:ty ),* $(,)? } )?
                $( for $bind:tt )?
                => $code:expr
            ),* $(,)?
        }
    ) => {
        $(#[$meta])*
        #[allow(
            clippy::large_enum_variant,
            reason = "no_std without alloc: fixed-capacity variants cannot be boxed"
        )]
        #[cfg_attr(feature = "defmt", derive(defmt::Format))]
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        $vis enum $name $( < $( const $g: usize = { $gd } ),+ > )? {
            $(
                $(#[$vmeta])*
                $variant
                $( ( $($tty),* ) )?
                $( { $( $(#[$fmeta])* $fname: $fty ),* } )?,
            )*
        }

        impl $( < $( const $g: usize ),+ > )? $name $( < $( $g ),+ > )? {
            /// The command code (CID2): what a request asks for, or the command a response
            /// answers.
            $vis fn command(&self) -> u8 {
                match self {
                    $( $crate::body_enum!(@pattern $variant $($bind)?) => $code, )*
                }
            }
        }
    };
    (@pattern $variant:ident) => {
        Self::$variant { .. }
    };
    (@pattern $variant:ident $bind:tt) => {
        Self::$variant $bind
    };
}
