//! The closed vocabularies of the domain. Each is written in the interchange format and in
//! GraphQL by its SCREAMING_SNAKE_CASE name.

use serde::{Deserialize, Serialize};

macro_rules! domain_enum {
    ($(#[$m:meta])* $name:ident { $($(#[$vm:meta])* $v:ident = $s:literal),* $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        pub enum $name { $($(#[$vm])* #[serde(rename = $s)] $v),* }

        impl $name {
            /// Every value, in declaration order (which is also the order of their codes).
            pub const ALL: &'static [$name] = &[$($name::$v),*];

            pub fn as_str(self) -> &'static str {
                match self { $($name::$v => $s),* }
            }

            pub fn parse(s: &str) -> Option<Self> {
                match s { $($s => Some($name::$v),)* _ => None }
            }

            /// A dense code, stable across releases: the position in [`Self::ALL`].
            /// New values are only ever appended.
            pub fn code(self) -> u8 {
                self as u8
            }

            pub fn from_code(c: u8) -> Option<Self> {
                Self::ALL.get(c as usize).copied()
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

domain_enum! {
    /// The five UN regional groups of Member States.
    UnRegionalGroup {
        African = "AFRICAN",
        AsiaPacific = "ASIA_PACIFIC",
        EasternEuropean = "EASTERN_EUROPEAN",
        LatinAmericanCaribbean = "LATIN_AMERICAN_CARIBBEAN",
        WesternEuropeanOthers = "WESTERN_EUROPEAN_OTHERS",
    }
}

domain_enum! {
    /// How the State under review responded to a recommendation.
    Response {
        Supported = "SUPPORTED",
        Noted = "NOTED",
        Pending = "PENDING",
        /// Supported in part, as OHCHR records some positions. Appended after `Pending`, so
        /// the codes already stored keep their meaning.
        PartiallySupported = "PARTIALLY_SUPPORTED",
    }
}

domain_enum! {
    /// What kind of COVID-19 measure a State took.
    MeasureCategory {
        Health = "HEALTH",
        SocialProtection = "SOCIAL_PROTECTION",
        Economic = "ECONOMIC",
        Labour = "LABOUR",
        Education = "EDUCATION",
        Housing = "HOUSING",
        Movement = "MOVEMENT",
        Assembly = "ASSEMBLY",
        EmergencyPowers = "EMERGENCY_POWERS",
        Detention = "DETENTION",
        Justice = "JUSTICE",
        GenderBasedViolence = "GENDER_BASED_VIOLENCE",
        Information = "INFORMATION",
        Privacy = "PRIVACY",
    }
}

domain_enum! {
    /// How a measure bears on a recommendation.
    LinkRelation {
        Implements = "IMPLEMENTS",
        PartiallyImplements = "PARTIALLY_IMPLEMENTS",
        Related = "RELATED",
        Contradicts = "CONTRADICTS",
    }
}

domain_enum! {
    /// Where a link stands in review.
    LinkStatus {
        Confirmed = "CONFIRMED",
        Suggested = "SUGGESTED",
        Rejected = "REJECTED",
    }
}

impl Default for LinkStatus {
    /// DOMAIN.md: a link without a status is CONFIRMED.
    fn default() -> Self {
        LinkStatus::Confirmed
    }
}

domain_enum! {
    /// What the COVID-19 Tracker recorded an issue of concern as: a trend already seen, a risk
    /// foreseen, or an early warning raised before harm was widespread.
    ConcernKind {
        Trend = "TREND",
        Risk = "RISK",
        EarlyWarning = "EARLY_WARNING",
    }
}

domain_enum! {
    /// How grave an issue of concern is.
    Severity {
        Low = "LOW",
        Medium = "MEDIUM",
        High = "HIGH",
    }
}

domain_enum! {
    /// The four headings under which OHCHR's report files the actions of UN Human Rights.
    ActionKind {
        GuidanceAndTechnicalSupport = "GUIDANCE_AND_TECHNICAL_SUPPORT",
        MonitoringAndReporting = "MONITORING_AND_REPORTING",
        AwarenessRaisingAndAdvocacy = "AWARENESS_RAISING_AND_ADVOCACY",
        AdjustingWorkingMethods = "ADJUSTING_WORKING_METHODS",
    }
}

domain_enum! {
    /// What a change did to a record.
    ChangeKind {
        Created = "CREATED",
        Updated = "UPDATED",
        Deleted = "DELETED",
    }
}

domain_enum! {
    /// The kinds of record, as named in history entries.
    Entity {
        Country = "COUNTRY",
        Cycle = "CYCLE",
        Session = "SESSION",
        Recommendation = "RECOMMENDATION",
        Measure = "MEASURE",
        GoodPractice = "GOOD_PRACTICE",
        Link = "LINK",
        Theme = "THEME",
        Group = "GROUP",
        Sdg = "SDG",
        MeasureCategory = "MEASURE_CATEGORY",
        Concern = "CONCERN",
        Action = "ACTION",
    }
}

impl Entity {
    /// The entity's name in messages ("good practice", "SDG").
    pub fn noun(self) -> &'static str {
        match self {
            Entity::Country => "country",
            Entity::Cycle => "cycle",
            Entity::Session => "session",
            Entity::Recommendation => "recommendation",
            Entity::Measure => "measure",
            Entity::GoodPractice => "good practice",
            Entity::Link => "link",
            Entity::Theme => "theme",
            Entity::Group => "group",
            Entity::Sdg => "SDG",
            Entity::MeasureCategory => "measure category",
            Entity::Concern => "concern",
            Entity::Action => "action",
        }
    }
}

domain_enum! {
    /// What an API token may do, each role including the ones before it: a reader reads (when
    /// the server requires a token to read), an editor changes links, measures and good
    /// practices, an admin also recommendations.
    Role {
        Reader = "reader",
        Editor = "editor",
        Admin = "admin",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_and_names_parse() {
        for &c in MeasureCategory::ALL {
            assert_eq!(MeasureCategory::from_code(c.code()), Some(c));
            assert_eq!(MeasureCategory::parse(c.as_str()), Some(c));
        }
        assert_eq!(Response::parse("MAYBE"), None);
        assert_eq!(UnRegionalGroup::from_code(5), None);
    }
}
