//! An SMS's length as the network counts it. A text made only of the GSM 03.38 default
//! alphabet goes as GSM-7: 160 septets in one message, 153 per segment of a concatenated one
//! (the user-data header takes the rest); a character of the extension table (`€ [ ] { } \ ^
//! ~ |` and form feed) is an escape plus a septet, so counts twice. Any other character —
//! every Hebrew and Persian letter, an emoji — makes the whole text UCS-2: 70 UTF-16 units in
//! one message, 67 per segment, a character outside the Basic Multilingual Plane (most emoji)
//! taking two units (a surrogate pair).
//!
//! A character is never split across segments: an escaped GSM-7 character or a surrogate pair
//! that does not fit in what is left of a segment starts the next one, as senders do, so a
//! long text may need one segment more than its units divided by 153 (or 67).

use crate::Result;
use kesher_core::DomainError;

/// The GSM 03.38 default alphabet (the escape code itself left out): one septet each.
const GSM7_BASIC: &str = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?\
¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";

/// The extension table: an escape septet plus one, two septets each.
const GSM7_EXTENSION: &str = "\u{0C}^{}\\[~]|€";

/// How a text is encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Encoding {
    Gsm7,
    Ucs2,
}

impl Encoding {
    pub fn as_str(self) -> &'static str {
        match self {
            Encoding::Gsm7 => "gsm7",
            Encoding::Ucs2 => "ucs2",
        }
    }

    /// Units (septets or UTF-16 units) in a message of one segment.
    pub fn single(self) -> usize {
        match self {
            Encoding::Gsm7 => 160,
            Encoding::Ucs2 => 70,
        }
    }

    /// Units per segment of a concatenated message.
    pub fn per_segment(self) -> usize {
        match self {
            Encoding::Gsm7 => 153,
            Encoding::Ucs2 => 67,
        }
    }
}

/// A text's length: its encoding, its units (septets for GSM-7, UTF-16 units for UCS-2) and
/// the segments it is sent as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SmsLength {
    pub encoding: Encoding,
    pub units: usize,
    pub segments: usize,
}

/// The septets a character takes in GSM-7, or `None` when it has none.
pub fn gsm7_septets(c: char) -> Option<usize> {
    if GSM7_BASIC.contains(c) {
        Some(1)
    } else if GSM7_EXTENSION.contains(c) {
        Some(2)
    } else {
        None
    }
}

/// The encoding a text needs: GSM-7 when every character has septets, else UCS-2.
pub fn encoding(text: &str) -> Encoding {
    if text.chars().all(|c| gsm7_septets(c).is_some()) {
        Encoding::Gsm7
    } else {
        Encoding::Ucs2
    }
}

/// The units a character takes in `encoding`.
fn units(c: char, encoding: Encoding) -> usize {
    match encoding {
        Encoding::Gsm7 => gsm7_septets(c).unwrap_or(2),
        Encoding::Ucs2 => c.len_utf16(),
    }
}

/// The length of `text` as sent. An empty text is one (empty) message.
pub fn measure(text: &str) -> SmsLength {
    let encoding = encoding(text);
    let total: usize = text.chars().map(|c| units(c, encoding)).sum();
    if total <= encoding.single() {
        return SmsLength {
            encoding,
            units: total,
            segments: 1,
        };
    }
    let capacity = encoding.per_segment();
    let (mut segments, mut used) = (1, 0);
    for c in text.chars() {
        let u = units(c, encoding);
        if used + u > capacity {
            segments += 1;
            used = 0;
        }
        used += u;
    }
    SmsLength {
        encoding,
        units: total,
        segments,
    }
}

/// The length of `text`, or an error when it needs more than `max_segments` segments.
pub fn check(text: &str, max_segments: usize) -> Result<SmsLength> {
    let length = measure(text);
    if length.segments > max_segments {
        return Err(DomainError::new(
            "campaign.sms.too_long",
            "sms",
            format!(
                "the text needs {} segments ({} {} units); at most {max_segments} are allowed",
                length.segments,
                length.units,
                length.encoding.as_str()
            ),
        )
        .with("segments", length.segments)
        .with("units", length.units)
        .with("encoding", length.encoding.as_str())
        .with("max", max_segments));
    }
    Ok(length)
}

/// The opt-out words honoured in a reply, as the whole message: the English ones carriers and
/// CTIA handling use (`STOP`, `STOPALL`, `UNSUBSCRIBE`, `CANCEL`, `END`, `QUIT`, `OPTOUT`,
/// `REMOVE`), the Hebrew `הסר` / `הסרה` (the word Israeli senders print, as the Communications
/// Law's §30A asks for a way to refuse), and the Persian `لغو` / `انصراف` / `توقف` (with `11`,
/// `لغو11`, the short form Iranian operators use).
pub const OPT_OUT_WORDS: &[&str] = &[
    "stop",
    "stopall",
    "unsubscribe",
    "cancel",
    "end",
    "quit",
    "optout",
    "remove",
    "הסר",
    "הסרה",
    "لغو",
    "انصراف",
    "توقف",
    "11",
    "لغو11",
];

/// Whether a reply asks to stop: the whole text, once trimmed, its case folded, its Persian and
/// Arabic-Indic digits read as digits, Arabic yeh/kaf read as Persian, and spaces, dashes,
/// punctuation and direction marks dropped, is one of `OPT_OUT_WORDS` ("Stop.", " STOP ",
/// "opt-out", "הסר!", "لغو ۱۱" all are; "please don't stop" is not: a word inside a sentence is
/// a conversation, not a request).
pub fn is_opt_out(reply: &str) -> bool {
    if reply.chars().count() > 40 {
        return false;
    }
    let folded: String = reply
        .chars()
        .filter_map(|c| match c {
            '\u{06F0}'..='\u{06F9}' => char::from_u32(c as u32 - 0x06F0 + '0' as u32),
            '\u{0660}'..='\u{0669}' => char::from_u32(c as u32 - 0x0660 + '0' as u32),
            '\u{064A}' => Some('\u{06CC}'),
            '\u{0643}' => Some('\u{06A9}'),
            c if c.is_alphanumeric() => Some(c),
            _ => None,
        })
        .flat_map(char::to_lowercase)
        .collect();
    OPT_OUT_WORDS.contains(&folded.as_str())
}

#[cfg(test)]
mod opt_out_tests {
    use super::is_opt_out;

    #[test]
    fn a_reply_that_is_an_opt_out_word_stops_whatever_its_case_spacing_and_digits() {
        for yes in [
            "STOP",
            "stop",
            " Stop. ",
            "STOP ALL",
            "opt-out",
            "Unsubscribe!",
            "הסר",
            " הסרה ",
            "لغو",
            "لغو ۱۱",
            "١١",
            "11",
            "انصراف",
            "\u{200F}הסר\u{200F}",
        ] {
            assert!(is_opt_out(yes), "{yes:?} is an opt-out");
        }
        for no in [
            "",
            "yes",
            "please don't stop",
            "stopping by tomorrow",
            "הסר אותי מחר בבקשה אם אפשר תודה רבה לכם",
            "12",
            "111",
            "תודה",
        ] {
            assert!(!is_opt_out(no), "{no:?} is not an opt-out");
        }
    }
}
