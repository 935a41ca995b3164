//! Malformed SQL for the no-panic run: a valid statement's tokens dropped, duplicated, swapped
//! or replaced by random keywords, identifiers and literals of the wrong type.

use rand::RngExt;
use rand::seq::IndexedRandom;

use super::FuzzRng;

/// Tokens mutations put in: keywords in the wrong place, unknown names, literals of every type
/// (and some no type accepts), stray punctuation.
const NOISE: [&str; 40] = [
    "SELECT",
    "FROM",
    "WHERE",
    "GROUP",
    "BY",
    "HAVING",
    "ORDER",
    "LIMIT",
    "JOIN",
    "ON",
    "AND",
    "OR",
    "NOT",
    "NULL",
    "CASE",
    "WHEN",
    "THEN",
    "END",
    "IN",
    "EXISTS",
    "UNION",
    "DISTINCT",
    "CAST",
    "AS",
    "nope",
    "r9.x",
    "t7",
    "count(*)",
    "'text'",
    "1.5",
    "-0",
    "TRUE",
    "DATE '2024-13-45'",
    "99999999999999999999",
    "9223372036854775807",
    "(",
    ")",
    ",",
    "*",
    "/",
];

/// Splits SQL into tokens: quoted strings, words (names, numbers, `a.b`), two-character
/// operators and single characters.
pub fn tokenize(sql: &str) -> Vec<String> {
    let chars: Vec<char> = sql.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let start = i;
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        if c == '\'' {
            i += 1;
            while i < chars.len() && !(chars[i] == '\'' && chars.get(i + 1) != Some(&'\'')) {
                i += if chars[i] == '\'' { 2 } else { 1 };
            }
            i += 1;
        } else if c.is_alphanumeric() || c == '_' {
            while i < chars.len() && (chars[i].is_alphanumeric() || "_.".contains(chars[i])) {
                i += 1;
            }
        } else {
            let pair: String = chars[i..chars.len().min(i + 2)].iter().collect();
            i += if ["<>", "<=", ">=", "||"].contains(&pair.as_str()) {
                2
            } else {
                1
            };
        }
        tokens.push(chars[start..i.min(chars.len())].iter().collect());
    }
    tokens
}

/// `sql` with one to three random token mutations.
pub fn mutate(rng: &mut FuzzRng, sql: &str) -> String {
    let mut tokens = tokenize(sql);
    for _ in 0..rng.random_range(1..=3) {
        if tokens.is_empty() {
            break;
        }
        let i = rng.random_range(0..tokens.len());
        match rng.random_range(0..5) {
            0 => {
                tokens.remove(i);
            }
            1 => tokens.insert(i, tokens[i].clone()),
            2 => {
                let j = (i + 1).min(tokens.len() - 1);
                tokens.swap(i, j);
            }
            3 => tokens[i] = NOISE.choose(rng).expect("noise").to_string(),
            _ => tokens.insert(i, NOISE.choose(rng).expect("noise").to_string()),
        }
    }
    tokens.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_keep_strings_and_operators_whole() {
        assert_eq!(
            tokenize("SELECT r1.a0 AS c0 FROM t0 WHERE (x <> 'it''s a') || y"),
            [
                "SELECT",
                "r1.a0",
                "AS",
                "c0",
                "FROM",
                "t0",
                "WHERE",
                "(",
                "x",
                "<>",
                "'it''s a'",
                ")",
                "||",
                "y"
            ]
        );
    }
}
