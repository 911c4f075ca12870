//! The links of a message, for click tracking: every `http://` or `https://` address in a text
//! (an HTML body's `href="…"` and a bare address alike), found in one deterministic order, so
//! that the n-th link of a stored message can be recovered from the message alone
//! ([`link_target`]) and a click's token need only carry its number ([`rewrite_links`]). The
//! token never carries the address: a forged token cannot send anyone elsewhere.
//!
//! An address runs from its scheme to the first space, quote, `<`, `>` or control character;
//! trailing sentence punctuation (`.`, `,`, `;`, `:`, `!`, `?`, `)`) is left outside it. In a
//! target read back, `&amp;` is `&` (an HTML body writes a query's `&` so).

use std::ops::Range;

/// The most links of one message that are tracked (later ones are left as written).
pub const MAX_LINKS: usize = 100;

fn ends_address(c: char) -> bool {
    c.is_whitespace() || c.is_control() || matches!(c, '"' | '\'' | '<' | '>' | '`')
}

/// Where each link of `text` is, in order (at most [`MAX_LINKS`]).
pub fn find_links(text: &str) -> Vec<Range<usize>> {
    let mut out = Vec::new();
    let lower = text.to_ascii_lowercase();
    let mut from = 0;
    while out.len() < MAX_LINKS {
        let next = [lower[from..].find("http://"), lower[from..].find("https://")]
            .into_iter()
            .flatten()
            .min();
        let Some(offset) = next else { break };
        let start = from + offset;
        let mut end = text[start..]
            .char_indices()
            .find(|(_, c)| ends_address(*c))
            .map_or(text.len(), |(i, _)| start + i);
        while end > start && text[..end].ends_with(['.', ',', ';', ':', '!', '?', ')']) {
            end -= 1;
        }
        let scheme = if lower[start..].starts_with("https://") { 8 } else { 7 };
        if end > start + scheme {
            out.push(start..end);
        }
        from = end.max(start + scheme);
    }
    out
}

/// `text` with its `index`-th link (from 0) replaced by `replace(index, link)`; a link for which
/// `replace` answers `None` is left as written (it keeps its number).
pub fn rewrite_links(text: &str, replace: impl Fn(usize, &str) -> Option<String>) -> String {
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    for (index, range) in find_links(text).into_iter().enumerate() {
        out.push_str(&text[last..range.start]);
        let link = &text[range.clone()];
        match replace(index, link) {
            Some(new) => out.push_str(&new),
            None => out.push_str(link),
        }
        last = range.end;
    }
    out.push_str(&text[last..]);
    out
}

/// The address the `index`-th link of `text` goes to (`&amp;` read as `&`), if it has one.
pub fn link_target(text: &str, index: usize) -> Option<String> {
    let range = find_links(text).into_iter().nth(index)?;
    Some(text[range].replace("&amp;", "&"))
}
