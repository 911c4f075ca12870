//! A loyalty program: its definition, joining conditions, tiers and earning (being written).
