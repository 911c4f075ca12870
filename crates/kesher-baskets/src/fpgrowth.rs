//! FP-growth over dense item ranks: an arena FP-tree, conditional trees from prefix paths,
//! the single-path shortcut and rayon over the top-level items
//!
//! The recursion mirrors mlxtend 0.25's `fpgrowth` step for step so that edge cases agree:
//! the top-level items are kept when `count / n >= min_support` (float), the items of a
//! conditional tree when `count >= ceil(min_support * n)` (integer, as mlxtend's `minsup`),
//! a tree that is a single path yields all combinations of its items (supports = the
//! smallest count), and every itemset is kept only when `count / n >= min_support`
//! (mlxtend's final filter in `generate_itemsets`).

use rayon::prelude::*;

const ROOT: u32 = u32::MAX;

/// What the miner needs to know about the thresholds.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Thresholds {
    /// Number of baskets (support denominator), > 0.
    pub n: usize,
    /// Minimum support as a fraction, in (0, 1].
    pub min_support: f64,
    /// mlxtend's `minsup = ceil(min_support * n)`, used inside conditional trees.
    pub min_count: u64,
    /// Longest itemset (None = unbounded).
    pub max_len: Option<usize>,
}

impl Thresholds {
    pub(crate) fn new(n: usize, min_support: f64, max_len: Option<usize>) -> Self {
        let min_count = (min_support * n as f64).ceil();
        Thresholds {
            n,
            min_support,
            min_count: if min_count > 0.0 { min_count as u64 } else { 0 },
            max_len,
        }
    }

    #[inline]
    pub(crate) fn passes(&self, count: u32) -> bool {
        f64::from(count) / self.n as f64 >= self.min_support
    }
}

/// Frequent itemsets found, flat: itemset `k` is `items[start_k..start_k + lens[k]]`.
#[derive(Debug, Default)]
pub(crate) struct Found {
    pub items: Vec<u32>,
    pub lens: Vec<u32>,
    pub counts: Vec<u32>,
}

impl Found {
    #[inline]
    fn emit(&mut self, prefix: &[u32], last: u32, count: u32) {
        self.items.extend_from_slice(prefix);
        self.items.push(last);
        self.lens.push(prefix.len() as u32 + 1);
        self.counts.push(count);
    }

    fn append(&mut self, other: Found) {
        self.items.extend_from_slice(&other.items);
        self.lens.extend_from_slice(&other.lens);
        self.counts.extend_from_slice(&other.counts);
    }
}

/// An FP-tree in an arena. Local items are ranked by descending count, so every path from
/// the root has increasing local ids; nodes are stored in depth-first order.
struct FpTree {
    /// Item and parent side by side: the prefix-path walk reads both.
    node: Vec<Node>,
    node_count: Vec<u32>,
    /// Total count of each local item.
    item_count: Vec<u32>,
    /// Header table in CSR form: nodes of item `i` are `head_nodes[head_start[i]..head_start[i + 1]]`.
    head_start: Vec<u32>,
    head_nodes: Vec<u32>,
    /// Local item -> global rank.
    global: Vec<u32>,
}

#[derive(Clone, Copy)]
struct Node {
    item: u32,
    parent: u32,
}

/// Prefix paths with counts, flat: path `k` is `items[starts[k]..starts[k + 1]]`.
pub(crate) struct Paths {
    items: Vec<u32>,
    starts: Vec<usize>,
    counts: Vec<u32>,
}

impl Paths {
    fn with_capacity(paths: usize, items: usize) -> Self {
        let mut starts = Vec::with_capacity(paths + 1);
        starts.push(0);
        Paths {
            items: Vec::with_capacity(items),
            starts,
            counts: Vec::with_capacity(paths),
        }
    }

    #[inline]
    fn get(&self, k: usize) -> &[u32] {
        &self.items[self.starts[k]..self.starts[k + 1]]
    }

    fn len(&self) -> usize {
        self.counts.len()
    }

    /// Closes the path whose items were pushed since the last call; empty paths are dropped.
    #[inline]
    fn close(&mut self, count: u32) {
        let start = self.starts[self.starts.len() - 1];
        if self.items.len() > start {
            self.starts.push(self.items.len());
            self.counts.push(count);
        }
    }
}

impl FpTree {
    /// Builds the prefix tree of the paths (each sorted by increasing local id) by sorting
    /// them and sharing each path's common prefix with the previous one.
    fn build(paths: &Paths, global: Vec<u32>) -> FpTree {
        let k = global.len();
        // Lexicographic order of the paths: a counting sort on the first item, then a
        // comparison sort of each bucket on the rest of the path.
        let mut bucket = vec![0usize; k + 1];
        for p in 0..paths.len() {
            bucket[paths.get(p)[0] as usize + 1] += 1;
        }
        for i in 0..k {
            bucket[i + 1] += bucket[i];
        }
        let mut fill = bucket.clone();
        let mut order = vec![0u32; paths.len()];
        for p in 0..paths.len() {
            let slot = &mut fill[paths.get(p)[0] as usize];
            order[*slot] = p as u32;
            *slot += 1;
        }
        for i in 0..k {
            order[bucket[i]..bucket[i + 1]]
                .sort_unstable_by(|&a, &b| paths.get(a as usize)[1..].cmp(&paths.get(b as usize)[1..]));
        }
        let mut tree = FpTree {
            node: Vec::new(),
            node_count: Vec::new(),
            item_count: vec![0; k],
            head_start: Vec::new(),
            head_nodes: Vec::new(),
            global,
        };
        let mut stack: Vec<u32> = Vec::new();
        let mut prev: &[u32] = &[];
        for &p in &order {
            let path = paths.get(p as usize);
            let count = paths.counts[p as usize];
            let common = path.iter().zip(prev).take_while(|(a, b)| a == b).count();
            stack.truncate(common);
            for &node in &stack {
                tree.node_count[node as usize] += count;
            }
            for &item in &path[common..] {
                let parent = stack.last().copied().unwrap_or(ROOT);
                let id = tree.node.len() as u32;
                tree.node.push(Node { item, parent });
                tree.node_count.push(count);
                stack.push(id);
            }
            prev = path;
        }
        let mut head_len = vec![0u32; k + 1];
        for (node, n) in tree.node.iter().enumerate() {
            tree.item_count[n.item as usize] += tree.node_count[node];
            head_len[n.item as usize + 1] += 1;
        }
        for i in 0..k {
            head_len[i + 1] += head_len[i];
        }
        let mut fill = head_len.clone();
        tree.head_nodes = vec![0; tree.node.len()];
        for (node, n) in tree.node.iter().enumerate() {
            let slot = &mut fill[n.item as usize];
            tree.head_nodes[*slot as usize] = node as u32;
            *slot += 1;
        }
        tree.head_start = head_len;
        tree
    }

    /// True when every node has at most one child (the root included).
    fn is_path(&self) -> bool {
        self.node.iter().enumerate().all(|(j, n)| {
            if j == 0 {
                n.parent == ROOT
            } else {
                n.parent as usize == j - 1
            }
        })
    }

    /// The conditional pattern bases of all items in one pass over the nodes in depth-first
    /// order (the stack holds the current root path): sequential reads instead of a
    /// pointer walk to the root from every node.
    fn pattern_bases(&self) -> Bases {
        let n = self.node.len();
        let mut depth = vec![0u32; n];
        for j in 0..n {
            let p = self.node[j].parent;
            depth[j] = if p == ROOT { 0 } else { depth[p as usize] + 1 };
        }
        let mut starts = Vec::with_capacity(n + 1);
        starts.push(0usize);
        let mut total = 0usize;
        for &node in &self.head_nodes {
            total += depth[node as usize] as usize;
            starts.push(total);
        }
        drop(depth);
        let mut items = vec![0u32; total];
        let mut cursor: Vec<u32> = self.head_start[..self.item_count.len()].to_vec();
        let mut stack: Vec<u32> = Vec::new();
        let mut stack_items: Vec<u32> = Vec::new();
        for (j, &Node { item, parent }) in self.node.iter().enumerate() {
            while let Some(&top) = stack.last() {
                if top == parent {
                    break;
                }
                stack.pop();
                stack_items.pop();
            }
            let p = cursor[item as usize] as usize;
            cursor[item as usize] += 1;
            items[starts[p]..starts[p + 1]].copy_from_slice(&stack_items);
            stack.push(j as u32);
            stack_items.push(item);
        }
        Bases { items, starts }
    }

    /// The conditional tree of local item `item`: its prefix paths, with the items whose
    /// count reaches `min_count`, ranked anew by descending count.
    fn conditional(&self, bases: &Bases, item: usize, min_count: u64) -> FpTree {
        let heads = self.head_start[item] as usize..self.head_start[item + 1] as usize;
        let path = |p: usize| &bases.items[bases.starts[p]..bases.starts[p + 1]];
        let mut count = vec![0u64; item];
        for p in heads.clone() {
            let c = u64::from(self.node_count[self.head_nodes[p] as usize]);
            for &it in path(p) {
                count[it as usize] += c;
            }
        }
        let mut kept: Vec<u32> = (0..item as u32)
            .filter(|&j| count[j as usize] >= min_count && count[j as usize] > 0)
            .collect();
        kept.sort_by(|&a, &b| count[b as usize].cmp(&count[a as usize]).then(a.cmp(&b)));
        let mut new_id = vec![ROOT; item];
        for (n, &j) in kept.iter().enumerate() {
            new_id[j as usize] = n as u32;
        }
        let global: Vec<u32> = kept.iter().map(|&j| self.global[j as usize]).collect();
        let mut paths = Paths::with_capacity(heads.len(), bases.starts[heads.end] - bases.starts[heads.start]);
        for p in heads {
            let start = paths.items.len();
            paths
                .items
                .extend(path(p).iter().map(|&it| new_id[it as usize]).filter(|&id| id != ROOT));
            paths.items[start..].sort_unstable();
            paths.close(self.node_count[self.head_nodes[p] as usize]);
        }
        FpTree::build(&paths, global)
    }
}

/// Conditional pattern bases: the prefix path (root first) of the node at header position
/// `p` is `items[starts[p]..starts[p + 1]]`.
struct Bases {
    items: Vec<u32>,
    starts: Vec<usize>,
}

/// Mines the frequent itemsets of baskets given as sorted global ranks (0 = most frequent,
/// `rank_count` ranks in all, each an item that passed the top-level filter). Returns the
/// itemsets as global ranks.
pub(crate) fn mine_ranked(baskets: Paths, rank_count: usize, th: &Thresholds, parallel: bool) -> Found {
    let global: Vec<u32> = (0..rank_count as u32).collect();
    let tree = FpTree::build(&baskets, global);
    drop(baskets);
    let mut out = Found::default();
    if tree.is_path() {
        emit_path(&tree, &mut Vec::new(), th, &mut out);
        return out;
    }
    if th.max_len == Some(0) {
        return out;
    }
    for item in 0..tree.item_count.len() {
        if th.passes(tree.item_count[item]) {
            out.emit(&[], tree.global[item], tree.item_count[item]);
        }
    }
    if th.max_len.is_some_and(|m| m <= 1) {
        return out;
    }
    let bases = tree.pattern_bases();
    let grow = |item: usize| {
        let mut part = Found::default();
        let cond = tree.conditional(&bases, item, th.min_count);
        let mut prefix = vec![tree.global[item]];
        mine_tree(&cond, &mut prefix, th, &mut part);
        part
    };
    let parts: Vec<Found> = if parallel {
        (0..tree.item_count.len()).into_par_iter().map(grow).collect()
    } else {
        (0..tree.item_count.len()).map(grow).collect()
    };
    for part in parts {
        out.append(part);
    }
    out
}

/// Maps each basket's ids to ranks (dropping unranked ids) and sorts them.
pub(crate) fn ranked_paths<'a>(
    baskets: impl Iterator<Item = &'a [u32]>,
    rank_of: &[u32],
    size_hint: (usize, usize),
) -> Paths {
    let mut paths = Paths::with_capacity(size_hint.0, size_hint.1);
    for basket in baskets {
        let start = paths.items.len();
        paths
            .items
            .extend(basket.iter().map(|&id| rank_of[id as usize]).filter(|&r| r != ROOT));
        paths.items[start..].sort_unstable();
        paths.close(1);
    }
    paths
}

/// The "no rank" marker for [`ranked_paths`].
pub(crate) const NO_RANK: u32 = ROOT;

fn mine_tree(tree: &FpTree, prefix: &mut Vec<u32>, th: &Thresholds, out: &mut Found) {
    if tree.is_path() {
        emit_path(tree, prefix, th, out);
        return;
    }
    if th.max_len.is_some_and(|m| m <= prefix.len()) {
        return;
    }
    for item in 0..tree.item_count.len() {
        if th.passes(tree.item_count[item]) {
            out.emit(prefix, tree.global[item], tree.item_count[item]);
        }
    }
    if th.max_len.is_some_and(|m| m <= prefix.len() + 1) {
        return;
    }
    // Item 0 has no prefix paths, so its conditional tree is empty.
    let bases = tree.pattern_bases();
    for item in 1..tree.item_count.len() {
        let cond = tree.conditional(&bases, item, th.min_count);
        if cond.node.is_empty() {
            continue;
        }
        prefix.push(tree.global[item]);
        mine_tree(&cond, prefix, th, out);
        prefix.pop();
    }
}

/// A single-path tree: every combination of its items (up to `max_len` in all), with the
/// smallest count along the path as support (mlxtend's shortcut).
fn emit_path(tree: &FpTree, prefix: &mut Vec<u32>, th: &Thresholds, out: &mut Found) {
    let chain: Vec<(u32, u32)> = tree
        .node
        .iter()
        .zip(&tree.node_count)
        .map(|(n, &count)| (tree.global[n.item as usize], count))
        .collect();
    let limit = match th.max_len {
        Some(m) => m.saturating_sub(prefix.len()),
        None => chain.len(),
    };
    if limit == 0 {
        return;
    }
    combos(&chain, 0, limit, prefix, th, out);
}

fn combos(chain: &[(u32, u32)], start: usize, limit: usize, prefix: &mut Vec<u32>, th: &Thresholds, out: &mut Found) {
    for (j, &(item, count)) in chain.iter().enumerate().skip(start) {
        // Counts do not increase down a path, so nothing further can pass either.
        if !th.passes(count) {
            break;
        }
        out.emit(prefix, item, count);
        if limit > 1 {
            prefix.push(item);
            combos(chain, j + 1, limit - 1, prefix, th, out);
            prefix.pop();
        }
    }
}
