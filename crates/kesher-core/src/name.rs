//! Names compared after Unicode normalisation, across Latin, Hebrew, Arabic and Persian script.

use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;

/// Normalise a personal name for comparison: NFKD, combining marks (Latin accents, Hebrew
/// niqqud, Arabic harakat) removed, lower case, Arabic letter variants folded onto their
/// Persian forms (ي ى → ی, ك → ک, ة → ه, أ إ آ → ا), Hebrew final letters onto their base
/// forms, tatweel and zero-width joiners removed, punctuation to spaces, spaces collapsed.
pub fn normalize_name(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut pending_space = false;
    for ch in s.nfkd() {
        if is_combining_mark(ch) {
            continue;
        }
        let mapped = match ch {
            'ي' | 'ى' | 'ئ' => 'ی',
            'ك' => 'ک',
            'ة' | 'ۀ' => 'ه',
            'أ' | 'إ' | 'آ' | 'ٱ' => 'ا',
            'ؤ' => 'و',
            'ך' => 'כ',
            'ם' => 'מ',
            'ן' => 'נ',
            'ף' => 'פ',
            'ץ' => 'צ',
            '\u{0640}' | '\u{200C}' | '\u{200D}' | '\u{200E}' | '\u{200F}' | '\u{FEFF}' => continue,
            c => c,
        };
        if mapped.is_alphanumeric() {
            if pending_space && !out.is_empty() {
                out.push(' ');
            }
            pending_space = false;
            out.extend(mapped.to_lowercase());
        } else {
            pending_space = true;
        }
    }
    out
}

/// A blocking key for duplicate search: the normalised name's tokens, sorted.
pub fn name_key(s: &str) -> String {
    let n = normalize_name(s);
    let mut tokens: Vec<&str> = n.split(' ').filter(|t| !t.is_empty()).collect();
    tokens.sort_unstable();
    tokens.join(" ")
}

/// Similarity of two names in [0, 1]: Jaro-Winkler on the token-sorted normalised forms.
pub fn name_similarity(a: &str, b: &str) -> f64 {
    let (ka, kb) = (name_key(a), name_key(b));
    if ka.is_empty() || kb.is_empty() {
        return 0.0;
    }
    // Token order may differ ("Cohen, Dana"), and a misspelt first letter can move a token
    // in sorted order: take the better of the two readings.
    jaro_winkler(&ka, &kb).max(jaro_winkler(&normalize_name(a), &normalize_name(b)))
}

fn jaro_winkler(a: &str, b: &str) -> f64 {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    if a == b {
        return 1.0;
    }
    let window = (a.len().max(b.len()) / 2).saturating_sub(1);
    let mut a_match = vec![false; a.len()];
    let mut b_match = vec![false; b.len()];
    let mut matches = 0usize;
    for (i, ca) in a.iter().enumerate() {
        let lo = i.saturating_sub(window);
        let hi = (i + window + 1).min(b.len());
        for j in lo..hi {
            if !b_match[j] && b[j] == *ca {
                a_match[i] = true;
                b_match[j] = true;
                matches += 1;
                break;
            }
        }
    }
    if matches == 0 {
        return 0.0;
    }
    let mut transpositions = 0usize;
    let mut k = 0usize;
    for (i, ca) in a.iter().enumerate() {
        if a_match[i] {
            while !b_match[k] {
                k += 1;
            }
            if *ca != b[k] {
                transpositions += 1;
            }
            k += 1;
        }
    }
    let m = matches as f64;
    let jaro = (m / a.len() as f64 + m / b.len() as f64 + (m - transpositions as f64 / 2.0) / m) / 3.0;
    let prefix = a.iter().zip(&b).take(4).take_while(|(x, y)| x == y).count() as f64;
    jaro + prefix * 0.1 * (1.0 - jaro)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folds_arabic_and_persian_letter_variants() {
        // Arabic yeh and kaf against Persian yeh and keheh.
        assert_eq!(normalize_name("علي كريمي"), normalize_name("علی کریمی"));
        assert_eq!(normalize_name("فاطمة"), normalize_name("فاطمه"));
        assert_eq!(normalize_name("مهر\u{200C}داد"), normalize_name("مهرداد"));
    }

    #[test]
    fn folds_hebrew_niqqud_and_final_letters() {
        assert_eq!(normalize_name("שָׁלוֹם"), normalize_name("שלום"));
        assert_eq!(normalize_name("כהן"), "כהנ");
    }

    #[test]
    fn folds_case_accents_and_spacing() {
        assert_eq!(normalize_name("  José   Álvarez-Ruiz "), "jose alvarez ruiz");
        assert_eq!(name_key("Cohen, Dana"), name_key("dana cohen"));
    }

    #[test]
    fn similarity_orders_sensibly() {
        assert_eq!(name_similarity("Dana Cohen", "cohen dana"), 1.0);
        assert!(name_similarity("Dana Cohen", "Dana Cohn") > 0.9);
        assert!(name_similarity("Dana Cohen", "Moshe Levi") < 0.7);
        assert_eq!(name_similarity("", "x"), 0.0);
        assert_eq!(name_similarity("رضا كاظمي", "رضا کاظمی"), 1.0);
    }
}
