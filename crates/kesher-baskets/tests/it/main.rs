//! kesher-baskets integration tests: one binary, modules per topic

#[cfg(test)]
mod mlxtend_reference;
#[cfg(test)]
mod offers;
