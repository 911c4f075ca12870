//! Lexer and recursive-descent parser. Types are checked while parsing, so an expression that
//! parses can be evaluated on any record without a type error.
//!
//! ```text
//! expr      := and ("or" and)*
//! and       := unary ("and" unary)*
//! unary     := "not" unary | "(" expr ")" | "true" | "false" | predicate
//! predicate := FIELD ( OP literal                       OP: = != <> < <= > >= ~
//!                    | ["not"] "in" "(" literal ("," literal)* ")"
//!                    | "between" literal "and" literal
//!                    | "has" ( STRING | ("any" | "all") "(" STRING ("," STRING)* ")" )
//!                    | "is" ["not"] "set"
//!                    | ε )                              a true-or-false field alone
//! literal   := NUMBER | "-" NUMBER | STRING | DATE | "true" | "false"
//! ```

use crate::ast::{CmpOp, Expr, HasMode, Literal};
use crate::fields::{FieldId, Type, suggest};
use crate::{Error, MAX_DEPTH, MAX_LEN};

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Ident(String),
    Number(f64),
    Text(String),
    Date(jiff::civil::Date),
    Op(CmpOp),
    LParen,
    RParen,
    Comma,
    Minus,
    End,
}

const KEYWORDS: &[&str] = &[
    "and", "or", "not", "in", "between", "has", "any", "all", "is", "set", "true", "false",
];

pub(crate) fn is_keyword(word: &str) -> bool {
    KEYWORDS.iter().any(|k| k.eq_ignore_ascii_case(word))
}

/// A token and the column (1-based, in characters) where it starts; `quoted` marks a field
/// written in backquotes (never a keyword).
#[derive(Debug, Clone)]
struct Spanned {
    tok: Tok,
    col: usize,
    quoted: bool,
}

fn lex(src: &str) -> Result<Vec<Spanned>, Error> {
    let chars: Vec<char> = src.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let col = i + 1;
        let push = |out: &mut Vec<Spanned>, tok| {
            out.push(Spanned {
                tok,
                col,
                quoted: false,
            })
        };
        match c {
            c if c.is_whitespace() => i += 1,
            '(' => {
                push(&mut out, Tok::LParen);
                i += 1;
            }
            ')' => {
                push(&mut out, Tok::RParen);
                i += 1;
            }
            ',' => {
                push(&mut out, Tok::Comma);
                i += 1;
            }
            '-' => {
                push(&mut out, Tok::Minus);
                i += 1;
            }
            '~' => {
                push(&mut out, Tok::Op(CmpOp::Contains));
                i += 1;
            }
            '=' => {
                push(&mut out, Tok::Op(CmpOp::Eq));
                i += if chars.get(i + 1) == Some(&'=') { 2 } else { 1 };
            }
            '!' => {
                if chars.get(i + 1) == Some(&'=') {
                    push(&mut out, Tok::Op(CmpOp::Ne));
                    i += 2;
                } else {
                    return Err(Error::at(
                        "segment.syntax.bang",
                        col,
                        "`!` must be followed by `=`; write `not` to negate",
                    ));
                }
            }
            '<' => {
                let (op, n) = match chars.get(i + 1) {
                    Some('=') => (CmpOp::Le, 2),
                    Some('>') => (CmpOp::Ne, 2),
                    _ => (CmpOp::Lt, 1),
                };
                push(&mut out, Tok::Op(op));
                i += n;
            }
            '>' => {
                let (op, n) = if chars.get(i + 1) == Some(&'=') {
                    (CmpOp::Ge, 2)
                } else {
                    (CmpOp::Gt, 1)
                };
                push(&mut out, Tok::Op(op));
                i += n;
            }
            '"' | '\'' => {
                let (text, next) = lex_text(&chars, i)?;
                push(&mut out, Tok::Text(text));
                i = next;
            }
            '`' => {
                let mut name = String::new();
                let mut j = i + 1;
                loop {
                    match chars.get(j) {
                        None => {
                            return Err(Error::at(
                                "segment.syntax.unterminated_name",
                                col,
                                "unterminated `quoted field name`",
                            ));
                        }
                        Some('`') if chars.get(j + 1) == Some(&'`') => {
                            name.push('`');
                            j += 2;
                        }
                        Some('`') => break,
                        Some(c) => {
                            name.push(*c);
                            j += 1;
                        }
                    }
                }
                out.push(Spanned {
                    tok: Tok::Ident(name),
                    col,
                    quoted: true,
                });
                i = j + 1;
            }
            c if c.is_ascii_digit() => {
                let mut j = i;
                while j < chars.len() && (chars[j].is_ascii_digit() || chars[j] == '.' || chars[j] == '-') {
                    j += 1;
                }
                let word: String = chars[i..j].iter().collect();
                let tok = if word.contains('-') {
                    let d: jiff::civil::Date = word.parse().map_err(|_| {
                        Error::at(
                            "segment.syntax.bad_date",
                            col,
                            format!("`{word}` is not a date (write YYYY-MM-DD)"),
                        )
                        .with("value", word.as_str())
                    })?;
                    Tok::Date(d)
                } else {
                    let n: f64 = word.parse().map_err(|_| {
                        Error::at("segment.syntax.bad_number", col, format!("`{word}` is not a number"))
                            .with("value", word.as_str())
                    })?;
                    if !n.is_finite() {
                        return Err(Error::at(
                            "segment.syntax.number_too_large",
                            col,
                            format!("`{word}` is too large"),
                        )
                        .with("value", word.as_str()));
                    }
                    Tok::Number(n)
                };
                push(&mut out, tok);
                i = j;
            }
            c if c.is_alphabetic() || c == '_' => {
                let mut j = i;
                while j < chars.len() && (chars[j].is_alphanumeric() || chars[j] == '_' || chars[j] == '.') {
                    j += 1;
                }
                push(&mut out, Tok::Ident(chars[i..j].iter().collect()));
                i = j;
            }
            c => {
                return Err(Error::at(
                    "segment.syntax.unexpected_character",
                    col,
                    format!("unexpected character `{c}`"),
                )
                .with("character", c.to_string()));
            }
        }
    }
    out.push(Spanned {
        tok: Tok::End,
        col: chars.len() + 1,
        quoted: false,
    });
    Ok(out)
}

fn lex_text(chars: &[char], start: usize) -> Result<(String, usize), Error> {
    let quote = chars[start];
    let mut s = String::new();
    let mut j = start + 1;
    loop {
        match chars.get(j) {
            None => {
                return Err(Error::at(
                    "segment.syntax.unterminated_text",
                    start + 1,
                    "unterminated text: a closing quote is missing",
                ));
            }
            Some('\\') => {
                let esc = match chars.get(j + 1) {
                    Some('n') => '\n',
                    Some('t') => '\t',
                    Some('r') => '\r',
                    Some(c @ ('"' | '\'' | '\\')) => *c,
                    Some(c) => {
                        return Err(Error::at(
                            "segment.syntax.unknown_escape",
                            j + 1,
                            format!("unknown escape `\\{c}`"),
                        )
                        .with("escape", c.to_string()));
                    }
                    None => {
                        return Err(Error::at(
                            "segment.syntax.unterminated_text",
                            start + 1,
                            "unterminated text: a closing quote is missing",
                        ));
                    }
                };
                s.push(esc);
                j += 2;
            }
            Some(c) if *c == quote => return Ok((s, j + 1)),
            Some(c) => {
                s.push(*c);
                j += 1;
            }
        }
    }
}

pub(crate) fn parse(src: &str) -> Result<Expr, Error> {
    if src.chars().count() > MAX_LEN {
        return Err(Error::at(
            "segment.too_long",
            1,
            format!("the expression is longer than {MAX_LEN} characters"),
        )
        .with("max", MAX_LEN));
    }
    let toks = lex(src)?;
    let mut p = Parser { toks, pos: 0, depth: 0 };
    if matches!(p.peek(), Tok::End) {
        return Err(Error::at("segment.empty", 1, "the expression is empty"));
    }
    let e = p.expr()?;
    match p.peek() {
        Tok::End => Ok(e),
        Tok::RParen => Err(Error::at(
            "segment.syntax.unmatched_paren",
            p.col(),
            "`)` without a matching `(`",
        )),
        _ => Err(Error::at(
            "segment.syntax.unexpected_token",
            p.col(),
            format!("expected `and`, `or` or the end, found {}", p.describe()),
        )
        .with("expected", "`and`, `or` or the end")
        .with("found", p.describe())),
    }
}

struct Parser {
    toks: Vec<Spanned>,
    pos: usize,
    depth: usize,
}

impl Parser {
    fn cur(&self) -> Option<&Spanned> {
        self.toks.get(self.pos).or(self.toks.last())
    }

    fn peek(&self) -> &Tok {
        self.cur().map(|s| &s.tok).unwrap_or(&Tok::End)
    }

    fn col(&self) -> usize {
        self.cur().map(|s| s.col).unwrap_or(1)
    }

    fn bump(&mut self) {
        if self.pos + 1 < self.toks.len() {
            self.pos += 1;
        }
    }

    /// Whether the current token is the keyword `kw` (not a backquoted name).
    fn at_kw(&self, kw: &str) -> bool {
        matches!(self.cur(), Some(Spanned { tok: Tok::Ident(w), quoted: false, .. }) if w.eq_ignore_ascii_case(kw))
    }

    fn eat_kw(&mut self, kw: &str) -> bool {
        let at = self.at_kw(kw);
        if at {
            self.bump();
        }
        at
    }

    fn describe(&self) -> String {
        match self.peek() {
            Tok::Ident(w) => format!("`{w}`"),
            Tok::Number(n) => format!("the number {n}"),
            Tok::Text(t) => format!("the text \"{t}\""),
            Tok::Date(d) => format!("the date {d}"),
            Tok::Op(op) => format!("`{}`", op.symbol()),
            Tok::LParen => "`(`".into(),
            Tok::RParen => "`)`".into(),
            Tok::Comma => "`,`".into(),
            Tok::Minus => "`-`".into(),
            Tok::End => "the end of the expression".into(),
        }
    }

    fn expect(&mut self, tok: Tok, what: &str) -> Result<(), Error> {
        if *self.peek() == tok {
            self.bump();
            Ok(())
        } else {
            Err(Error::at(
                "segment.syntax.unexpected_token",
                self.col(),
                format!("expected {what}, found {}", self.describe()),
            )
            .with("expected", what)
            .with("found", self.describe()))
        }
    }

    fn expr(&mut self) -> Result<Expr, Error> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(Error::at(
                "segment.too_deep",
                self.col(),
                format!("the expression nests deeper than {MAX_DEPTH} levels"),
            )
            .with("max", MAX_DEPTH));
        }
        let mut e = self.and()?;
        while self.eat_kw("or") {
            let r = self.and()?;
            e = Expr::Or(Box::new(e), Box::new(r));
        }
        self.depth -= 1;
        Ok(e)
    }

    fn and(&mut self) -> Result<Expr, Error> {
        let mut e = self.unary()?;
        while self.eat_kw("and") {
            let r = self.unary()?;
            e = Expr::And(Box::new(e), Box::new(r));
        }
        Ok(e)
    }

    fn unary(&mut self) -> Result<Expr, Error> {
        if self.at_kw("not") {
            self.depth += 1;
            if self.depth > MAX_DEPTH {
                return Err(Error::at(
                    "segment.too_deep",
                    self.col(),
                    format!("the expression nests deeper than {MAX_DEPTH} levels"),
                )
                .with("max", MAX_DEPTH));
            }
            self.bump();
            let e = self.unary()?;
            self.depth -= 1;
            return Ok(Expr::Not(Box::new(e)));
        }
        if *self.peek() == Tok::LParen {
            let open = self.col();
            self.bump();
            let e = self.expr()?;
            if *self.peek() != Tok::RParen {
                return Err(Error::at(
                    "segment.syntax.unclosed_paren",
                    self.col(),
                    format!(
                        "expected `)` to close the `(` at column {open}, found {}",
                        self.describe()
                    ),
                )
                .with("open", open)
                .with("found", self.describe()));
            }
            self.bump();
            return Ok(e);
        }
        if self.eat_kw("true") {
            return Ok(Expr::Const(true));
        }
        if self.eat_kw("false") {
            return Ok(Expr::Const(false));
        }
        self.predicate()
    }

    fn field(&mut self) -> Result<(FieldId, usize), Error> {
        let col = self.col();
        let (name, quoted) = match self.cur() {
            Some(Spanned {
                tok: Tok::Ident(w),
                quoted,
                ..
            }) => (w.clone(), *quoted),
            _ => {
                return Err(Error::at(
                    "segment.syntax.expected_field",
                    col,
                    format!("expected a field name, found {}", self.describe()),
                )
                .with("found", self.describe()));
            }
        };
        if !quoted && is_keyword(&name) {
            return Err(Error::at(
                "segment.syntax.keyword_as_field",
                col,
                format!("expected a field name, found the keyword `{name}`"),
            )
            .with("name", name.as_str()));
        }
        // Known names are matched without regard to case; attribute keys keep theirs.
        let lower = if quoted { name.clone() } else { name.to_lowercase() };
        let looked = match name.get(..11) {
            Some(prefix) if prefix.eq_ignore_ascii_case("attributes.") => {
                FieldId::lookup(&format!("attributes.{}", &name[11..]))
            }
            _ => FieldId::lookup(&lower),
        };
        let id = looked.ok_or_else(|| {
            let hint = suggest(&lower)
                .map(|s| format!(" (did you mean `{s}`?)"))
                .unwrap_or_default();
            Error::at(
                "segment.field.unknown",
                col,
                format!("unknown field `{name}`{hint}; see the field list in docs/segments.md"),
            )
            .with("name", name.as_str())
        })?;
        self.bump();
        Ok((id, col))
    }

    fn literal(&mut self) -> Result<(Literal, usize), Error> {
        let col = self.col();
        let lit = match self.peek().clone() {
            Tok::Number(n) => Literal::Number(n),
            Tok::Minus => {
                self.bump();
                match self.peek() {
                    Tok::Number(n) => Literal::Number(-n),
                    _ => {
                        return Err(Error::at(
                            "segment.syntax.expected_number",
                            self.col(),
                            format!("expected a number after `-`, found {}", self.describe()),
                        )
                        .with("found", self.describe()));
                    }
                }
            }
            Tok::Text(t) => Literal::Text(t),
            Tok::Date(d) => Literal::Date(d),
            Tok::Ident(_) if self.at_kw("true") => Literal::Bool(true),
            Tok::Ident(_) if self.at_kw("false") => Literal::Bool(false),
            _ => {
                return Err(Error::at(
                    "segment.syntax.expected_value",
                    col,
                    format!(
                        "expected a value (number, \"text\", date or true/false), found {}",
                        self.describe()
                    ),
                )
                .with("found", self.describe()));
            }
        };
        self.bump();
        Ok((lit, col))
    }

    fn text_list(&mut self) -> Result<Vec<String>, Error> {
        self.expect(Tok::LParen, "`(` and a list of texts")?;
        let mut out = Vec::new();
        loop {
            match self.peek().clone() {
                Tok::Text(t) => {
                    out.push(t);
                    self.bump();
                }
                _ => {
                    return Err(Error::at(
                        "segment.syntax.expected_text",
                        self.col(),
                        format!("expected a \"text\", found {}", self.describe()),
                    )
                    .with("found", self.describe()));
                }
            }
            if *self.peek() == Tok::Comma {
                self.bump();
                continue;
            }
            self.expect(Tok::RParen, "`,` or `)`")?;
            return Ok(out);
        }
    }

    fn predicate(&mut self) -> Result<Expr, Error> {
        let (field, fcol) = self.field()?;
        let ty = field.ty();
        let name = field.name();
        if let Tok::Op(op) = self.peek().clone() {
            let op_col = self.col();
            self.bump();
            let (value, vcol) = self.literal()?;
            check_cmp(&name, ty, op, &value, op_col, vcol)?;
            return Ok(Expr::Cmp { field, op, value });
        }
        let negated_in = self.at_kw("not") && {
            let next = self.toks.get(self.pos + 1);
            matches!(next, Some(Spanned { tok: Tok::Ident(w), quoted: false, .. }) if w.eq_ignore_ascii_case("in"))
        };
        if negated_in || self.at_kw("in") {
            if negated_in {
                self.bump();
            }
            self.bump();
            self.expect(Tok::LParen, "`(` and a list of values")?;
            let mut values = Vec::new();
            loop {
                let (v, vcol) = self.literal()?;
                check_cmp(&name, ty, CmpOp::Eq, &v, fcol, vcol)?;
                values.push(v);
                if *self.peek() == Tok::Comma {
                    self.bump();
                    continue;
                }
                self.expect(Tok::RParen, "`,` or `)`")?;
                break;
            }
            return Ok(Expr::In {
                field,
                negated: negated_in,
                values,
            });
        }
        if self.eat_kw("between") {
            let (low, lcol) = self.literal()?;
            check_cmp(&name, ty, CmpOp::Le, &low, fcol, lcol)?;
            if !self.eat_kw("and") {
                return Err(Error::at(
                    "segment.syntax.expected_between_and",
                    self.col(),
                    format!("expected `and` in `between … and …`, found {}", self.describe()),
                )
                .with("found", self.describe()));
            }
            let (high, hcol) = self.literal()?;
            check_cmp(&name, ty, CmpOp::Le, &high, fcol, hcol)?;
            let ordered = match (&low, &high) {
                (Literal::Number(a), Literal::Number(b)) => a <= b,
                (Literal::Date(a), Literal::Date(b)) => a <= b,
                (Literal::Text(a), Literal::Text(b)) => a.to_lowercase() <= b.to_lowercase(),
                _ => false,
            };
            if !ordered {
                return Err(Error::at(
                    "segment.between.order",
                    lcol,
                    format!("`between {low} and {high}`: the low end must come first and both be of one kind"),
                )
                .with("low", low.to_string())
                .with("high", high.to_string()));
            }
            return Ok(Expr::Between { field, low, high });
        }
        if self.at_kw("has") {
            let hcol = self.col();
            self.bump();
            if ty != Type::TextSet {
                return Err(Error::at(
                    "segment.type.has_needs_set",
                    hcol,
                    format!(
                        "`has` works on sets (categories, products, branches); `{name}` is {}",
                        ty.name()
                    ),
                )
                .with("field", name.as_str())
                .with("type", ty.name()));
            }
            let (mode, values) = if self.eat_kw("any") {
                (HasMode::Any, self.text_list()?)
            } else if self.eat_kw("all") {
                (HasMode::All, self.text_list()?)
            } else if let Tok::Text(t) = self.peek().clone() {
                self.bump();
                (HasMode::One, vec![t])
            } else {
                return Err(Error::at(
                    "segment.syntax.expected_has_value",
                    self.col(),
                    format!(
                        "expected a \"text\", `any (…)` or `all (…)` after `has`, found {}",
                        self.describe()
                    ),
                )
                .with("found", self.describe()));
            };
            return Ok(Expr::Has { field, mode, values });
        }
        if self.eat_kw("is") {
            let negated = self.eat_kw("not");
            if !self.eat_kw("set") {
                return Err(Error::at(
                    "segment.syntax.expected_set",
                    self.col(),
                    format!("expected `set` after `is`, found {}", self.describe()),
                )
                .with("found", self.describe()));
            }
            return Ok(Expr::IsSet { field, negated });
        }
        match ty {
            Type::Bool | Type::Any => Ok(Expr::Truthy(field)),
            _ => Err(Error::at(
                "segment.type.needs_comparison",
                self.col(),
                format!(
                    "`{name}` is {}: compare it (=, !=, <, >, in, between, ...), found {}",
                    ty.name(),
                    self.describe()
                ),
            )
            .with("field", name.as_str())
            .with("type", ty.name())
            .with("found", self.describe())),
        }
    }
}

fn check_cmp(name: &str, ty: Type, op: CmpOp, value: &Literal, op_col: usize, vcol: usize) -> Result<(), Error> {
    let ordered = matches!(op, CmpOp::Lt | CmpOp::Le | CmpOp::Gt | CmpOp::Ge);
    let ok = match (ty, value) {
        (Type::Presence, _) => {
            return Err(Error::at(
                "segment.type.personal_identifier",
                op_col,
                format!("`{name}` is a personal identifier: only `{name} is set` or `{name} is not set` may be asked"),
            )
            .with("field", name));
        }
        (Type::TextSet, _) => {
            return Err(Error::at(
                "segment.type.set_needs_has",
                op_col,
                format!("`{name}` is a set: use `{name} has \"…\"`, `has any (…)` or `has all (…)`"),
            )
            .with("field", name));
        }
        (_, Literal::Text(_)) if op == CmpOp::Contains => matches!(ty, Type::Text | Type::Any),
        (_, _) if op == CmpOp::Contains => false,
        (Type::Number, Literal::Number(_)) => true,
        (Type::Text, Literal::Text(_)) => true,
        (Type::Date, Literal::Date(_)) => true,
        (Type::Bool, Literal::Bool(_)) => !ordered,
        (Type::Any, Literal::Bool(_)) => !ordered,
        (Type::Any, _) => true,
        _ => false,
    };
    if ok {
        Ok(())
    } else if op == CmpOp::Contains {
        Err(Error::at(
            "segment.type.contains_needs_text",
            op_col,
            format!(
                "`~` (contains) needs a text field and a \"text\"; `{name}` is {}",
                ty.name()
            ),
        )
        .with("field", name)
        .with("type", ty.name()))
    } else if matches!(value, Literal::Bool(_)) && ordered {
        Err(Error::at(
            "segment.type.bool_ordered",
            op_col,
            format!("true/false cannot be ordered with `{}`", op.symbol()),
        )
        .with("operator", op.symbol()))
    } else {
        let shown = match value {
            Literal::Number(_) => "a number",
            Literal::Text(_) => "a text",
            Literal::Bool(_) => "true/false",
            Literal::Date(_) => "a date",
        };
        Err(Error::at(
            "segment.type.mismatch",
            vcol,
            format!("`{name}` is {}, but {value} is {shown}", ty.name()),
        )
        .with("field", name)
        .with("type", ty.name())
        .with("value", value.to_string())
        .with("shown", shown))
    }
}
