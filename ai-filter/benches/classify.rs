//! Throughput of the harassment model on one core: features alone, one message per model run,
//! and batches of 32 and 256 messages (what the pool does when busy). Chat messages are short,
//! so the inputs are typical 10–80 character Korean and English lines.
//!
//! Needs `ORT_DYLIB_PATH` (scripts/test.sh and scripts/setup.sh say where the library is).

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use tallymq_ai_filter::{Classifier, FeatureExtractor, FeatureVector, ModelSource};

const MESSAGES: [&str; 16] = [
    "이번 달 말까지 상환 부탁드립니다",
    "네 확인했습니다. 내일 오전에 보내드릴게요",
    "시발 돈 안 갚으면 회사에 다 알릴 거야",
    "ㅋㅋㅋㅋ 알겠어 고마워",
    "너희 엄마한테 받으러 간다",
    "카드론이라도 받아서 오늘 안에 갚아",
    "지급명령 신청하겠습니다. 법원에서 연락 갈 겁니다",
    "내일 검찰에서 압류 들어간다 각오해",
    "Could you send the payment by Friday? Thanks!",
    "I will file for a payment order next week.",
    "you worthless idiot, pay me back now",
    "I'll post your debt on Instagram if you don't pay",
    "lol ok see you at lunch",
    "sh1t I forgot, sending it tonight",
    "오늘 점심 뭐 먹을래? 김치찌개 어때",
    "ㅅㅂ 진짜 장난하냐 빨리 입금해",
];

fn batch(size: usize) -> Vec<&'static str> {
    MESSAGES.iter().copied().cycle().take(size).collect()
}

fn classifier() -> Classifier {
    Classifier::load(&ModelSource::Embedded).unwrap_or_else(|error| panic!("{error}"))
}

fn features(c: &mut Criterion) {
    let mut extractor = FeatureExtractor::default();
    let mut out = FeatureVector::default();
    let mut group = c.benchmark_group("features");
    group.throughput(Throughput::Elements(MESSAGES.len() as u64));
    group.bench_function("typical", |b| {
        b.iter(|| {
            for text in MESSAGES {
                extractor.extract(text, &mut out);
            }
        })
    });
    group.finish();
}

fn classify(c: &mut Criterion) {
    let mut classifier = classifier();
    let mut group = c.benchmark_group("classify");
    group.throughput(Throughput::Elements(MESSAGES.len() as u64));
    group.bench_function("single", |b| {
        b.iter(|| {
            for text in MESSAGES {
                classifier.classify(text).expect("classify");
            }
        })
    });
    group.finish();
}

fn classify_batch(c: &mut Criterion) {
    let mut classifier = classifier();
    let mut group = c.benchmark_group("classify_batch");
    for size in [32, 256] {
        let texts = batch(size);
        group.throughput(Throughput::Elements(size as u64));
        group.bench_function(size.to_string(), |b| b.iter(|| classifier.classify_batch(&texts).expect("classify")));
    }
    group.finish();
}

criterion_group!(benches, features, classify, classify_batch);
criterion_main!(benches);
