//! The ISO 4217 currency table: every active code with its minor-unit exponent.
//!
//! Source: ISO 4217 list one (current currencies and funds), as published by
//! the ISO 4217 maintenance agency in 2025, including XCG (Caribbean guilder,
//! replacing ANG) and ZWG (Zimbabwe Gold, replacing ZWL). Codes whose minor
//! unit the standard gives as "N.A." (precious metals XAU, XAG, XPD, XPT, the
//! SDR and other units of account, and the test codes XTS and XXX) are left
//! out, because no bill can be paid in them.
//!
//! This table must never be edited to suit one payment processor: it is the
//! single source of exponents that the phone and the server share.

/// One row of the ISO 4217 table.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct CurrencyInfo {
    /// Alphabetic code, three upper-case ASCII letters.
    pub code: &'static str,
    /// Number of decimal places of the minor unit: 0 for JPY, 2 for EUR.
    pub exponent: u8,
    /// English name as ISO 4217 gives it.
    pub name: &'static str,
    /// Symbol shown before the amount, where one is unambiguous.
    pub symbol: Option<&'static str>,
}

const fn row(code: &'static str, exponent: u8, name: &'static str) -> CurrencyInfo {
    CurrencyInfo {
        code,
        exponent,
        name,
        symbol: None,
    }
}

const fn with_symbol(
    code: &'static str,
    exponent: u8,
    name: &'static str,
    symbol: &'static str,
) -> CurrencyInfo {
    CurrencyInfo {
        code,
        exponent,
        name,
        symbol: Some(symbol),
    }
}

/// Every active ISO 4217 currency with a minor unit, sorted by code so that
/// lookups can use binary search.
pub static CURRENCIES: &[CurrencyInfo] = &[
    row("AED", 2, "UAE Dirham"),
    row("AFN", 2, "Afghani"),
    row("ALL", 2, "Lek"),
    row("AMD", 2, "Armenian Dram"),
    row("AOA", 2, "Kwanza"),
    row("ARS", 2, "Argentine Peso"),
    row("AUD", 2, "Australian Dollar"),
    row("AWG", 2, "Aruban Florin"),
    row("AZN", 2, "Azerbaijan Manat"),
    row("BAM", 2, "Convertible Mark"),
    row("BBD", 2, "Barbados Dollar"),
    row("BDT", 2, "Taka"),
    row("BGN", 2, "Bulgarian Lev"),
    row("BHD", 3, "Bahraini Dinar"),
    row("BIF", 0, "Burundi Franc"),
    row("BMD", 2, "Bermudian Dollar"),
    row("BND", 2, "Brunei Dollar"),
    row("BOB", 2, "Boliviano"),
    row("BOV", 2, "Mvdol"),
    row("BRL", 2, "Brazilian Real"),
    row("BSD", 2, "Bahamian Dollar"),
    row("BTN", 2, "Ngultrum"),
    row("BWP", 2, "Pula"),
    row("BYN", 2, "Belarusian Ruble"),
    row("BZD", 2, "Belize Dollar"),
    row("CAD", 2, "Canadian Dollar"),
    row("CDF", 2, "Congolese Franc"),
    row("CHE", 2, "WIR Euro"),
    row("CHF", 2, "Swiss Franc"),
    row("CHW", 2, "WIR Franc"),
    row("CLF", 4, "Unidad de Fomento"),
    row("CLP", 0, "Chilean Peso"),
    row("CNY", 2, "Yuan Renminbi"),
    row("COP", 2, "Colombian Peso"),
    row("COU", 2, "Unidad de Valor Real"),
    row("CRC", 2, "Costa Rican Colon"),
    row("CUC", 2, "Peso Convertible"),
    row("CUP", 2, "Cuban Peso"),
    row("CVE", 2, "Cabo Verde Escudo"),
    row("CZK", 2, "Czech Koruna"),
    row("DJF", 0, "Djibouti Franc"),
    row("DKK", 2, "Danish Krone"),
    row("DOP", 2, "Dominican Peso"),
    row("DZD", 2, "Algerian Dinar"),
    row("EGP", 2, "Egyptian Pound"),
    row("ERN", 2, "Nakfa"),
    row("ETB", 2, "Ethiopian Birr"),
    with_symbol("EUR", 2, "Euro", "€"),
    row("FJD", 2, "Fiji Dollar"),
    row("FKP", 2, "Falkland Islands Pound"),
    with_symbol("GBP", 2, "Pound Sterling", "£"),
    row("GEL", 2, "Lari"),
    row("GHS", 2, "Ghana Cedi"),
    row("GIP", 2, "Gibraltar Pound"),
    row("GMD", 2, "Dalasi"),
    row("GNF", 0, "Guinean Franc"),
    row("GTQ", 2, "Quetzal"),
    row("GYD", 2, "Guyana Dollar"),
    row("HKD", 2, "Hong Kong Dollar"),
    row("HNL", 2, "Lempira"),
    row("HTG", 2, "Gourde"),
    row("HUF", 2, "Forint"),
    row("IDR", 2, "Rupiah"),
    with_symbol("ILS", 2, "New Israeli Sheqel", "₪"),
    with_symbol("INR", 2, "Indian Rupee", "₹"),
    row("IQD", 3, "Iraqi Dinar"),
    row("IRR", 2, "Iranian Rial"),
    row("ISK", 0, "Iceland Krona"),
    row("JMD", 2, "Jamaican Dollar"),
    row("JOD", 3, "Jordanian Dinar"),
    with_symbol("JPY", 0, "Yen", "¥"),
    row("KES", 2, "Kenyan Shilling"),
    row("KGS", 2, "Som"),
    row("KHR", 2, "Riel"),
    row("KMF", 0, "Comorian Franc"),
    row("KPW", 2, "North Korean Won"),
    with_symbol("KRW", 0, "Won", "₩"),
    row("KWD", 3, "Kuwaiti Dinar"),
    row("KYD", 2, "Cayman Islands Dollar"),
    row("KZT", 2, "Tenge"),
    row("LAK", 2, "Lao Kip"),
    row("LBP", 2, "Lebanese Pound"),
    row("LKR", 2, "Sri Lanka Rupee"),
    row("LRD", 2, "Liberian Dollar"),
    row("LSL", 2, "Loti"),
    row("LYD", 3, "Libyan Dinar"),
    row("MAD", 2, "Moroccan Dirham"),
    row("MDL", 2, "Moldovan Leu"),
    row("MGA", 2, "Malagasy Ariary"),
    row("MKD", 2, "Denar"),
    row("MMK", 2, "Kyat"),
    row("MNT", 2, "Tugrik"),
    row("MOP", 2, "Pataca"),
    row("MRU", 2, "Ouguiya"),
    row("MUR", 2, "Mauritius Rupee"),
    row("MVR", 2, "Rufiyaa"),
    row("MWK", 2, "Malawi Kwacha"),
    row("MXN", 2, "Mexican Peso"),
    row("MXV", 2, "Mexican Unidad de Inversion (UDI)"),
    row("MYR", 2, "Malaysian Ringgit"),
    row("MZN", 2, "Mozambique Metical"),
    row("NAD", 2, "Namibia Dollar"),
    with_symbol("NGN", 2, "Naira", "₦"),
    row("NIO", 2, "Cordoba Oro"),
    row("NOK", 2, "Norwegian Krone"),
    row("NPR", 2, "Nepalese Rupee"),
    row("NZD", 2, "New Zealand Dollar"),
    row("OMR", 3, "Rial Omani"),
    row("PAB", 2, "Balboa"),
    row("PEN", 2, "Sol"),
    row("PGK", 2, "Kina"),
    with_symbol("PHP", 2, "Philippine Peso", "₱"),
    row("PKR", 2, "Pakistan Rupee"),
    row("PLN", 2, "Zloty"),
    row("PYG", 0, "Guarani"),
    row("QAR", 2, "Qatari Rial"),
    row("RON", 2, "Romanian Leu"),
    row("RSD", 2, "Serbian Dinar"),
    row("RUB", 2, "Russian Ruble"),
    row("RWF", 0, "Rwanda Franc"),
    row("SAR", 2, "Saudi Riyal"),
    row("SBD", 2, "Solomon Islands Dollar"),
    row("SCR", 2, "Seychelles Rupee"),
    row("SDG", 2, "Sudanese Pound"),
    row("SEK", 2, "Swedish Krona"),
    row("SGD", 2, "Singapore Dollar"),
    row("SHP", 2, "Saint Helena Pound"),
    row("SLE", 2, "Leone"),
    row("SOS", 2, "Somali Shilling"),
    row("SRD", 2, "Surinam Dollar"),
    row("SSP", 2, "South Sudanese Pound"),
    row("STN", 2, "Dobra"),
    row("SVC", 2, "El Salvador Colon"),
    row("SYP", 2, "Syrian Pound"),
    row("SZL", 2, "Lilangeni"),
    row("THB", 2, "Baht"),
    row("TJS", 2, "Somoni"),
    row("TMT", 2, "Turkmenistan New Manat"),
    row("TND", 3, "Tunisian Dinar"),
    row("TOP", 2, "Pa'anga"),
    with_symbol("TRY", 2, "Turkish Lira", "₺"),
    row("TTD", 2, "Trinidad and Tobago Dollar"),
    row("TWD", 2, "New Taiwan Dollar"),
    row("TZS", 2, "Tanzanian Shilling"),
    with_symbol("UAH", 2, "Hryvnia", "₴"),
    row("UGX", 0, "Uganda Shilling"),
    with_symbol("USD", 2, "US Dollar", "$"),
    row("USN", 2, "US Dollar (Next day)"),
    row("UYI", 0, "Uruguay Peso en Unidades Indexadas (UI)"),
    row("UYU", 2, "Peso Uruguayo"),
    row("UYW", 4, "Unidad Previsional"),
    row("UZS", 2, "Uzbekistan Sum"),
    row("VED", 2, "Bolívar Soberano"),
    row("VES", 2, "Bolívar Soberano"),
    with_symbol("VND", 0, "Dong", "₫"),
    row("VUV", 0, "Vatu"),
    row("WST", 2, "Tala"),
    row("XAF", 0, "CFA Franc BEAC"),
    row("XCD", 2, "East Caribbean Dollar"),
    row("XCG", 2, "Caribbean Guilder"),
    row("XOF", 0, "CFA Franc BCEAO"),
    row("XPF", 0, "CFP Franc"),
    row("YER", 2, "Yemeni Rial"),
    row("ZAR", 2, "Rand"),
    row("ZMW", 2, "Zambian Kwacha"),
    row("ZWG", 2, "Zimbabwe Gold"),
];

/// Finds the row for an alphabetic code; the match is exact and case-sensitive.
pub fn find(code: &str) -> Option<&'static CurrencyInfo> {
    CURRENCIES
        .binary_search_by(|info| info.code.cmp(code))
        .ok()
        .map(|index| &CURRENCIES[index])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_sorted_and_unique() {
        for pair in CURRENCIES.windows(2) {
            assert!(
                pair[0].code < pair[1].code,
                "{} must sort before {}",
                pair[0].code,
                pair[1].code
            );
        }
    }

    #[test]
    fn codes_are_three_upper_case_letters() {
        for info in CURRENCIES {
            assert_eq!(info.code.len(), 3, "{}", info.code);
            assert!(
                info.code.bytes().all(|b| b.is_ascii_uppercase()),
                "{}",
                info.code
            );
        }
    }

    #[test]
    fn exponents_match_iso_4217() {
        let expected = [
            ("JPY", 0),
            ("KRW", 0),
            ("CLP", 0),
            ("EUR", 2),
            ("USD", 2),
            ("GBP", 2),
            ("KWD", 3),
            ("BHD", 3),
            ("JOD", 3),
            ("OMR", 3),
            ("TND", 3),
            ("IQD", 3),
            ("LYD", 3),
            ("CLF", 4),
            ("UYW", 4),
        ];
        for (code, exponent) in expected {
            let info = find(code).unwrap_or_else(|| panic!("{code} missing from the table"));
            assert_eq!(info.exponent, exponent, "exponent of {code}");
        }
    }

    #[test]
    fn table_has_every_active_currency() {
        // ISO 4217 list one has about 165 codes with a minor unit; fewer
        // means rows were lost.
        assert!(CURRENCIES.len() >= 160, "only {} rows", CURRENCIES.len());
    }

    #[test]
    fn withdrawn_and_metal_codes_are_absent() {
        for code in ["HRK", "ANG", "ZWL", "SLL", "XAU", "XTS", "XXX", "eur"] {
            assert!(find(code).is_none(), "{code} must not be in the table");
        }
    }
}
