//! Feeds arbitrary text to the template parser; any panic is a bug, and so is a template whose
//! written form does not parse back to the same template.

#![no_main]

use brood_plan::Template;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    match Template::parse(&text) {
        Ok(template) => {
            let shown = template.to_string();
            assert_eq!(
                Template::parse(&shown).as_ref(),
                Ok(&template),
                "{text:?} is shown as {shown:?}"
            );
            let _ = template.vars().count() + template.env_names().count();
            if let Some(plain) = template.static_text() {
                assert!(template.is_static());
                assert_eq!(Template::literal(&plain), template);
            }
        }
        Err(message) => assert!(!message.is_empty()),
    }
});
