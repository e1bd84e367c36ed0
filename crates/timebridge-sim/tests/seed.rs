//! Seeded data: deterministic, corresponding on both sides, and the Month size.

use timebridge_sim::{KimaiSim, Seed, SimOptions, ZammadSim};

#[tokio::test]
async fn the_same_rng_seed_gives_the_same_data_and_both_sides_correspond() {
    let opts = SimOptions {
        seed: Seed::Small,
        rng_seed: 3,
        ..SimOptions::default()
    };
    let z1 = ZammadSim::start(opts.clone()).await.unwrap();
    let z2 = ZammadSim::start(opts.clone()).await.unwrap();
    assert_eq!(z1.accountings(), z2.accountings());
    assert_eq!(z1.tickets(), z2.tickets());
    let k = KimaiSim::start(opts).await.unwrap();

    let agents: Vec<String> = z1
        .users()
        .into_iter()
        .filter(|u| u.role == timebridge_sim::zammad::Role::Agent)
        .map(|u| u.email)
        .collect();
    let without_kimai: Vec<&String> = agents
        .iter()
        .filter(|e| k.user_by_email(e).is_none())
        .collect();
    assert_eq!(
        without_kimai.len(),
        1,
        "exactly one agent lacks a Kimai user"
    );
    let projects: Vec<String> = k.projects().into_iter().map(|p| p.name).collect();
    for org in z1.organizations() {
        assert!(projects.contains(&org.name), "{}", org.name);
    }
    let zones: std::collections::HashSet<_> = k.users().iter().map(|u| u.timezone).collect();
    assert!(zones.len() >= 4);
}

#[tokio::test]
async fn the_month_seed_has_about_44000_accountings_for_50_agents() {
    let z = ZammadSim::start(SimOptions::with_seed(Seed::Month))
        .await
        .unwrap();
    let n = z.accounting_count();
    assert!((42_000..=46_000).contains(&n), "{n}");
    let agents = z
        .users()
        .into_iter()
        .filter(|u| u.role == timebridge_sim::zammad::Role::Agent)
        .count();
    assert_eq!(agents, 50);
    let accs = z.accountings();
    assert!(accs.iter().any(|a| a.time_unit.starts_with('-')));
    assert!(accs.iter().any(|a| a.time_unit == "0.0"));
    assert!(accs.iter().any(|a| a.type_id.is_none()));
    assert!(accs.iter().any(|a| a.ticket_article_id.is_none()));
}

#[tokio::test]
async fn the_empty_seed_has_only_the_api_users() {
    let z = ZammadSim::start(SimOptions::with_seed(Seed::Empty))
        .await
        .unwrap();
    assert_eq!(z.accounting_count(), 0);
    assert_eq!(z.users().len(), 1);
    let k = KimaiSim::start(SimOptions::with_seed(Seed::Empty))
        .await
        .unwrap();
    assert_eq!(k.users().len(), 1);
    assert!(k.projects().is_empty());
}
