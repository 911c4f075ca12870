//! The fixed parts of the demo business: branches, employees, the product catalogue and bundles

use crate::calendar::Zone;
use crate::rng::mix;

/// A shop of the chain.
pub(crate) struct Branch {
    pub(crate) id: &'static str,
    pub(crate) name: &'static str,
    pub(crate) region: &'static str,
    pub(crate) zone: Zone,
    /// Cities customers of this branch live in.
    pub(crate) cities: &'static [&'static str],
}

pub(crate) const BRANCHES: [Branch; 3] = [
    Branch {
        id: "B1",
        name: "Tel Aviv Dizengoff",
        region: "Center",
        zone: Zone::Jerusalem,
        cities: &[
            "Tel Aviv",
            "Tel Aviv",
            "Ramat Gan",
            "Givatayim",
            "Holon",
            "Herzliya",
            "Petah Tikva",
        ],
    },
    Branch {
        id: "B2",
        name: "Haifa Grand Canyon",
        region: "North",
        zone: Zone::Jerusalem,
        cities: &[
            "Haifa",
            "Haifa",
            "Haifa",
            "Kiryat Motzkin",
            "Kiryat Bialik",
            "Kiryat Ata",
            "Nesher",
            "Tirat Carmel",
            "Nahariya",
            "Akko",
            "Yokneam",
            "Zichron Yaakov",
        ],
    },
    Branch {
        id: "B3",
        name: "Tehran Vanak",
        region: "Tehran",
        zone: Zone::Tehran,
        cities: &[
            "Tehran",
            "Tehran",
            "Tehran",
            "Tehran",
            "Karaj",
            "Shemiran",
            "Rey",
            "Eslamshahr",
            "Pardis",
        ],
    },
];

/// Share of customers registered at each branch.
pub(crate) const BRANCH_SHARE: [f64; 3] = [0.45, 0.35, 0.20];

/// `(employee_id, name, branch index, enrolment zeal)`; zeal weights who registers new members.
pub(crate) const EMPLOYEES: [(&str, &str, usize, f64); 20] = [
    ("E101", "נועה לוי", 0, 3.0),
    ("E102", "יונתן כהן", 0, 1.0),
    ("E103", "Rachel Green", 0, 1.5),
    ("E104", "עומר מזרחי", 0, 0.6),
    ("E105", "שירה פרץ", 0, 2.0),
    ("E106", "David Miller", 0, 1.0),
    ("E107", "מיכל ביטון", 0, 0.4),
    ("E108", "אורי דהן", 0, 1.2),
    ("E109", "תמר אזולאי", 1, 2.5),
    ("E110", "איתן גבאי", 1, 1.0),
    ("E111", "הילה שפירא", 1, 0.5),
    ("E112", "רון חדד", 1, 1.5),
    ("E113", "Sarah Cooper", 1, 1.0),
    ("E114", "עדי סגל", 1, 0.8),
    ("E115", "אלון עמר", 1, 1.1),
    ("E116", "مریم احمدی", 2, 2.0),
    ("E117", "رضا کریمی", 2, 1.0),
    ("E118", "نگار موسوی", 2, 1.4),
    ("E119", "کامران یزدانی", 2, 0.7),
    ("E120", "سارا کاظمی", 2, 1.0),
];

/// A product category with popularity weight and margin range (percent of list price).
pub(crate) struct Category {
    pub(crate) name: &'static str,
    pub(crate) weight: f64,
    pub(crate) margin: (u64, u64),
}

pub(crate) const CATEGORIES: [Category; 10] = [
    Category {
        name: "Coffee",
        weight: 1.2,
        margin: (45, 60),
    },
    Category {
        name: "Tea",
        weight: 0.8,
        margin: (45, 60),
    },
    Category {
        name: "Bakery",
        weight: 1.6,
        margin: (35, 55),
    },
    Category {
        name: "Dairy & Cheese",
        weight: 1.5,
        margin: (20, 30),
    },
    Category {
        name: "Deli",
        weight: 1.1,
        margin: (30, 45),
    },
    Category {
        name: "Pasta & Pantry",
        weight: 1.0,
        margin: (25, 40),
    },
    Category {
        name: "Snacks & Sweets",
        weight: 1.1,
        margin: (30, 50),
    },
    Category {
        name: "Wine & Drinks",
        weight: 1.0,
        margin: (20, 40),
    },
    Category {
        name: "Kitchenware",
        weight: 0.25,
        margin: (35, 55),
    },
    Category {
        name: "Home Goods",
        weight: 0.6,
        margin: (30, 50),
    },
];

/// `(name, list price in agorot)`, 20 per category in [`CATEGORIES`] order; SKU = `P` + 1-based
/// position.
pub(crate) const PRODUCTS: [(&str, i64); 200] = [
    // Coffee
    ("Espresso beans 1kg", 8990),
    ("Espresso beans 250g", 2990),
    ("Colombia single origin 250g", 3990),
    ("Ethiopia Yirgacheffe 250g", 4490),
    ("Brazil Santos 500g", 4990),
    ("Decaf blend 250g", 3490),
    ("House blend ground 500g", 4290),
    ("Turkish coffee with cardamom 200g", 1990),
    ("Cold brew concentrate 1L", 3290),
    ("Instant coffee 200g", 2790),
    ("Coffee capsules x10", 1790),
    ("Coffee capsules x50", 7990),
    ("Oat barista milk 1L", 1490),
    ("Vanilla syrup 250ml", 2490),
    ("Caramel syrup 250ml", 2490),
    ("Paper filters x100", 1290),
    ("Moka pot 3 cups", 11900),
    ("French press 1L", 14900),
    ("Manual coffee grinder", 18900),
    ("Coffee gift box", 15900),
    // Tea
    ("English breakfast tea x50", 2490),
    ("Earl Grey tea x50", 2690),
    ("Green tea sencha 100g", 2990),
    ("Jasmine green tea 100g", 3290),
    ("Chamomile tea x25", 1490),
    ("Mint tea x25", 1490),
    ("Persian black tea 500g", 3990),
    ("Rooibos vanilla 100g", 2790),
    ("Masala chai 100g", 2990),
    ("Matcha powder 50g", 5990),
    ("Hibiscus tea 100g", 2290),
    ("Ginger lemon tea x20", 1690),
    ("Saffron rock candy sticks", 2490),
    ("Wildflower honey 500g", 3690),
    ("Lemon verbena 50g", 1890),
    ("Glass teapot 800ml", 8900),
    ("Tea infuser", 1990),
    ("Tea glasses set of 6", 6900),
    ("Electric samovar", 34900),
    ("Tea gift box", 12900),
    // Bakery
    ("Sourdough loaf", 2400),
    ("Challah", 1600),
    ("Whole wheat bread", 1800),
    ("Baguette", 1200),
    ("Butter croissant", 950),
    ("Chocolate croissant", 1100),
    ("Rugelach 250g", 2200),
    ("Chocolate babka", 3900),
    ("Almond biscotti 200g", 2400),
    ("Pita x10", 1200),
    ("Barbari bread", 1400),
    ("Sangak bread", 1500),
    ("Bagels x4", 1600),
    ("Cinnamon roll", 1250),
    ("Cheese bourekas 250g", 2100),
    ("Apple strudel", 3400),
    ("Date maamoul 250g", 2600),
    ("Poppy seed cake", 3600),
    ("Gluten free bread", 2900),
    ("Rosemary focaccia", 2200),
    // Dairy & Cheese
    ("Milk 3% 1L", 720),
    ("Oat milk 1L", 1390),
    ("Butter 200g", 1290),
    ("Cream cheese 250g", 1190),
    ("Labneh 500g", 1590),
    ("Plain yogurt 500g", 990),
    ("Greek yogurt 500g", 1690),
    ("Feta cheese 250g", 2490),
    ("Parmesan 200g", 3990),
    ("Mozzarella 250g", 1990),
    ("Gouda slices 200g", 2190),
    ("Brie 200g", 3290),
    ("Cottage cheese 250g", 690),
    ("Halloumi 250g", 2790),
    ("Goat cheese 150g", 2990),
    ("Whipping cream 250ml", 990),
    ("Free range eggs x12", 2690),
    ("Kashk 250g", 1790),
    ("Mascarpone 250g", 2290),
    ("Blue cheese 150g", 3190),
    // Deli
    ("Hummus 400g", 1490),
    ("Tahini 500g", 1990),
    ("Baba ghanoush 300g", 1690),
    ("Kalamata olives 300g", 2290),
    ("Pickled cucumbers 1L", 1490),
    ("Smoked salmon 200g", 4990),
    ("Pastrami 200g", 3490),
    ("Roast turkey 200g", 2990),
    ("Shakshuka sauce 500g", 1790),
    ("Falafel mix 400g", 1390),
    ("Stuffed vine leaves 400g", 2490),
    ("Herring in oil 250g", 1990),
    ("Matbucha 300g", 1490),
    ("Tabbouleh 300g", 1890),
    ("Kuku sabzi 400g", 2990),
    ("Olivier salad 400g", 2190),
    ("Sun dried tomatoes 280g", 2490),
    ("Extra virgin olive oil 750ml", 4990),
    ("Za'atar 100g", 1290),
    ("Sumac 100g", 1290),
    // Pasta & Pantry
    ("Spaghetti 500g", 890),
    ("Penne 500g", 890),
    ("Fettuccine 500g", 1190),
    ("Fresh ravioli 400g", 2990),
    ("Lasagna sheets 500g", 1290),
    ("Tomato basil sauce 680g", 1690),
    ("Arrabbiata sauce 680g", 1790),
    ("Pesto genovese 190g", 2190),
    ("Alfredo sauce 400g", 1990),
    ("Basmati rice 1kg", 1990),
    ("Persian rice 2kg", 5490),
    ("Saffron 1g", 3490),
    ("Couscous 500g", 990),
    ("Red lentils 500g", 1090),
    ("Chickpeas 1kg", 1390),
    ("Canned tomatoes 400g", 690),
    ("Risotto rice 1kg", 2290),
    ("Gnocchi 500g", 1490),
    ("Dried porcini 30g", 2790),
    ("Balsamic vinegar 250ml", 2990),
    // Snacks & Sweets
    ("Dark chocolate 70% 100g", 1490),
    ("Milk chocolate 100g", 1190),
    ("Halva 400g", 2490),
    ("Roasted pistachios 250g", 3990),
    ("Almonds 250g", 2990),
    ("Mixed nuts 400g", 4490),
    ("Medjool dates 500g", 3490),
    ("Dried figs 250g", 2490),
    ("Gaz nougat 250g", 4290),
    ("Sohan brittle 200g", 3890),
    ("Potato chips 200g", 990),
    ("Pretzels 300g", 890),
    ("Granola 500g", 2690),
    ("Rice cakes", 890),
    ("Bamba 80g", 490),
    ("Hazelnut wafers", 690),
    ("Chocolate spread 350g", 1990),
    ("Marzipan 200g", 2290),
    ("Turkish delight 250g", 2490),
    ("Sweets gift basket", 14900),
    // Wine & Drinks
    ("Cabernet Sauvignon 750ml", 6990),
    ("Chardonnay 750ml", 6490),
    ("Rose wine 750ml", 5990),
    ("Sparkling wine 750ml", 7990),
    ("Sweet kiddush wine 750ml", 2990),
    ("Craft beer x6", 5990),
    ("Sparkling water 1.5L", 590),
    ("Mineral water x6", 1590),
    ("Orange juice 1L", 1490),
    ("Pomegranate juice 1L", 1990),
    ("Lemonade 1L", 1290),
    ("Doogh 1.5L", 1190),
    ("Cola 1.5L", 890),
    ("Tonic water x4", 1490),
    ("Arak 700ml", 8990),
    ("Grape juice 1L", 1390),
    ("Kombucha 330ml", 1290),
    ("Iced tea 1.5L", 990),
    ("Ginger ale x4", 1590),
    ("Wine gift box", 19900),
    // Kitchenware
    ("Chef's knife 20cm", 19900),
    ("Bamboo cutting board", 6900),
    ("Frying pan 28cm", 17900),
    ("Saucepan 2L", 14900),
    ("Pasta pot 5L", 18900),
    ("Wooden spoon set", 3900),
    ("Cheese grater", 4900),
    ("Wine glasses x4", 9900),
    ("Corkscrew", 4900),
    ("Espresso cups x4", 7900),
    ("Mugs x2", 5900),
    ("Mixing bowls set", 8900),
    ("Baking tray", 5900),
    ("Rice cooker", 24900),
    ("Measuring cups", 2900),
    ("Salad spinner", 6900),
    ("Storage jars x3", 7900),
    ("Kitchen scale", 9900),
    ("Apron", 4900),
    ("Oven mitts", 3500),
    // Home Goods
    ("Scented candle 250g", 5900),
    ("Tablecloth", 14900),
    ("Cloth napkins x4", 6900),
    ("Dish soap 750ml", 1290),
    ("Kitchen towels x2", 2900),
    ("Sponges x5", 990),
    ("Trash bags x30", 1690),
    ("Glass cleaner", 1490),
    ("Hand soap 500ml", 1790),
    ("Reed diffuser", 9900),
    ("Serving tray", 11900),
    ("Ceramic vase", 12900),
    ("Photo frame", 4900),
    ("Throw pillow", 8900),
    ("Laundry detergent 2L", 3990),
    ("Paper towels x6", 2490),
    ("Aluminium foil 30m", 1490),
    ("Baking paper", 1290),
    ("Shabbat candles x72", 1990),
    ("Gift wrapping set", 2490),
];

/// Products commonly bought together (0-based product indexes), so basket analysis finds rules.
/// The second field says which language group favours the bundle (`None`: everyone).
pub(crate) const BUNDLES: [(&[usize], Option<&str>); 16] = [
    (&[100, 105, 68], None),           // spaghetti, tomato basil sauce, parmesan
    (&[101, 107, 96], None),           // penne, pesto, sun dried tomatoes
    (&[0, 12, 13], None),              // espresso beans 1kg, oat barista milk, vanilla syrup
    (&[41, 144, 198, 80], Some("he")), // challah, kiddush wine, shabbat candles, hummus
    (&[26, 32, 128], Some("fa")),      // persian tea, saffron rock candy, gaz
    (&[110, 111, 151], Some("fa")),    // persian rice, saffron, doogh
    (&[80, 81, 49, 83], None),         // hummus, tahini, pita, olives
    (&[52, 63, 85], Some("en")),       // bagels, cream cheese, smoked salmon
    (&[140, 71, 127], None),           // cabernet, brie, dried figs
    (&[88, 76, 67], Some("he")),       // shakshuka sauce, eggs, feta
    (&[104, 115, 69], None),           // lasagna sheets, canned tomatoes, mozzarella
    (&[183, 185, 184], None),          // dish soap, sponges, kitchen towels
    (&[21, 33, 46], Some("en")),       // earl grey, honey, rugelach
    (&[6, 48, 15], None),              // house blend, biscotti, paper filters
    (&[130, 152, 134], None),          // chips, cola, bamba
    (&[44, 60, 62], None),             // croissant, milk, butter
];

/// A product row ready for writing and sampling.
pub(crate) struct Product {
    pub(crate) sku: String,
    pub(crate) name: &'static str,
    pub(crate) category: usize,
    pub(crate) price: i64,
    pub(crate) cost: i64,
    pub(crate) popularity: f64,
}

/// The catalogue with SKUs, costs (fixed margins per product) and popularity weights.
pub(crate) fn products() -> Vec<Product> {
    PRODUCTS
        .iter()
        .enumerate()
        .map(|(i, &(name, price))| {
            let category = i / 20;
            let cat = &CATEGORIES[category];
            let h = mix(0x4B45_5348_4552, 1, i as u64);
            let (lo, hi) = cat.margin;
            let margin = lo + h % (hi - lo + 1);
            let cost = (price * (100 - margin as i64) + 50) / 100;
            let taste = 0.5 + ((h >> 20) % 1000) as f64 / 1000.0;
            let popularity = cat.weight * taste * 30.0 / ((price as f64) / 100.0).sqrt();
            Product {
                sku: format!("P{:03}", i + 1),
                name,
                category,
                price,
                cost,
                popularity,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalogue_is_consistent() {
        let ps = products();
        assert_eq!(ps.len(), 200);
        for p in &ps {
            assert!(p.cost > 0 && p.cost < p.price, "{}", p.name);
            let margin = (p.price - p.cost) * 100 / p.price;
            assert!((19..=60).contains(&margin), "{} {margin}", p.name);
        }
        for (items, _) in BUNDLES {
            assert!((2..=4).contains(&items.len()));
            assert!(items.iter().all(|&i| i < 200));
        }
        assert_eq!(PRODUCTS[100].0, "Spaghetti 500g");
        assert_eq!(PRODUCTS[68].0, "Parmesan 200g");
        assert_eq!(PRODUCTS[198].0, "Shabbat candles x72");
        assert_eq!(PRODUCTS[151].0, "Doogh 1.5L");
        assert_eq!(PRODUCTS[46].0, "Rugelach 250g");
        assert_eq!(PRODUCTS[134].0, "Bamba 80g");
        for (_, _, b, _) in EMPLOYEES {
            assert!(b < BRANCHES.len());
        }
    }
}
