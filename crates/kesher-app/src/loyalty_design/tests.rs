//! The design read from a SQLite store: sales, lines, categories and costs as imported.

use super::*;
use crate::import::ImportKind;
use crate::test_support::{app_named, import};

fn shop(app: &App) {
    import(
        app,
        ImportKind::Products,
        "sku,name,category,list_price,unit_cost,currency\nCOF1,Espresso beans,coffee,40.00,20.00,ILS\n\
         CAKE,Cheesecake,pastry,30.00,10.00,ILS\nGIFT,Gift box,gift,50.00,,ILS\n",
    );
    import(
        app,
        ImportKind::Customers,
        "customer_id,name\nM1,Dana\nM2,Eli\nM3,Noa\n",
    );
    import(
        app,
        ImportKind::Transactions,
        "transaction_id,customer_id,branch_id,employee_id,occurred_at,sku,quantity,unit_price,discount,currency\n\
         S1,M1,B1,,2026-10-01T10:00:00Z,COF1,1,40.00,0,ILS\n\
         S1,M1,B1,,2026-10-01T10:00:00Z,CAKE,1,30.00,0,ILS\n\
         S2,M1,B1,,2026-10-11T10:00:00Z,COF1,1,40.00,0,ILS\n\
         S3,M2,B1,,2026-10-05T10:00:00Z,CAKE,1,30.00,0,ILS\n\
         S4,M3,B1,,2026-10-08T10:00:00Z,GIFT,1,50.00,0,ILS\n\
         S5,,B1,,2026-10-09T10:00:00Z,COF1,1,40.00,0,ILS\n",
    );
}

#[test]
fn the_design_reads_sales_lines_categories_and_costs() {
    let t = app_named("design");
    shop(&t.app);
    let d = t.app.loyalty_design(&DesignRequest::default()).unwrap();
    assert_eq!(d.currency, "ILS");
    // The anonymous sale S5 is left out.
    assert_eq!((d.history.sales, d.history.buyers), (4, 3));
    assert_eq!((d.repeat.buyers_year, d.repeat.repeat_buyers_year), (3, 1));
    assert_eq!(d.repeat.gaps.median_days, Some(10.0));
    let m = &d.margin;
    assert_eq!(
        (m.revenue, m.known_cost_revenue, m.gross_margin),
        (19_000, 14_000, Some(8_000))
    );
    let cats: Vec<(Option<&str>, i64, Option<i64>)> = m
        .categories
        .iter()
        .map(|c| (c.category.as_deref(), c.revenue, c.gross_margin))
        .collect();
    assert_eq!(
        cats,
        vec![
            (Some("coffee"), 8_000, Some(4_000)),
            (Some("gift"), 5_000, None),
            (Some("pastry"), 6_000, Some(4_000))
        ]
    );
    assert_eq!(d.simulation.total.sales, 4);
    // The suggestion is a program the app accepts.
    let json = serde_json::to_string(&d.program).unwrap();
    t.app
        .set_loyalty_program(&json, &kesher_store::Actor::new("test", t.app.now()))
        .unwrap();
}

fn field(e: &StoreError) -> Option<&'static str> {
    match e {
        StoreError::Invalid { field, .. } => Some(field),
        _ => None,
    }
}

#[test]
fn bad_parameters_and_empty_history_are_errors_naming_the_field() {
    let t = app_named("design-errors");
    let e = t.app.loyalty_design(&DesignRequest::default()).unwrap_err();
    assert_eq!((e.code(), field(&e)), ("loyalty.design.no_sales", Some("currency")));
    shop(&t.app);
    for (req, name) in [
        (
            DesignRequest {
                redemption_rate: Some("2".into()),
                ..Default::default()
            },
            "redemption_rate",
        ),
        (
            DesignRequest {
                months: Some("0".into()),
                ..Default::default()
            },
            "months",
        ),
        (
            DesignRequest {
                margin_share: Some("x".into()),
                ..Default::default()
            },
            "margin_share",
        ),
        (
            DesignRequest {
                point_value: Some("-1".into()),
                ..Default::default()
            },
            "point_value",
        ),
        (
            DesignRequest {
                currency: Some("ZZZ".into()),
                ..Default::default()
            },
            "currency",
        ),
    ] {
        let e = t.app.loyalty_design(&req).unwrap_err();
        assert_eq!(field(&e), Some(name), "{e}");
    }
    let e = t
        .app
        .loyalty_design(&DesignRequest {
            currency: Some("EUR".into()),
            ..Default::default()
        })
        .unwrap_err();
    assert_eq!(e.code(), "loyalty.design.no_sales");
}
