#!/usr/bin/env python3
"""Writes train_pool.jsonl: the training and validation examples of the harassment model.

Run `python3 ai-filter/train/data/generate_pool.py` (standard library only). The output is
the same on every run: one `random.Random(SEED)` drives every choice, no set or hash order
is iterated, and the lines are written in generation order. The held-out test split and the
obfuscation suite are written separately and independently of these templates, so that they
measure generalization, not memory of these sentences.

How the examples are made
-------------------------
* Templates per category and language (>= 25 Korean and >= 15 English each), with slots
  (amounts, dates, banks and payment apps, relatives, workplaces, platforms, names, insults,
  violence phrases), inline alternatives `[a|b|c]` for endings and wording, and Korean
  particles that follow the preceding word (`{이/가}`, `{을/를}`, `{아/야}`, `{으로/로}`...).
  Every template gets about the same share of its category, so no skeleton dominates.
* The same openers, closers (ㅋㅋ, ㅠㅠ, emoji), typos and casual spellings are applied to
  positive and clean messages alike, so none of them is evidence of a category.
* Multi-label examples: an insult wrapped around another category's message ("야 이 개새끼야"
  + a threat), and two collection tactics in one message (threat + disclosure, ...).
* Obfuscated variants (kind `obfuscated`) of about 15% of the positives: spacing and dots
  inside words, jamo abbreviations, digits and symbols inside words, leetspeak, zero-width
  characters, stretched letters, fullwidth letters. Each variant must still differ from its
  source after the normalization of FEATURES.md §1, otherwise it would teach nothing new.
* Hand-written lines (WRITTEN below), kept here so the pool has one source of truth.

Labelling decisions for borderline cases
----------------------------------------
The training code and the held-out test split follow the same rules.

1.  Label by content, not by guessed intent. Profanity or a slur anywhere in the message
    makes it `insult`, also in friendly banter ("야 이 미친놈아 ㅋㅋ 축하해"), also when it is
    aimed at a third person or at nothing ("아 씨발 버스 놓쳤어", "fucking hell, missed the
    bus"), also when a borrower vents about the lender. Profanity/slurs: 시발/씨발 and
    spellings, 존나/졸라, 좆, 지랄, 병신/븅신, 개새끼/새끼 (as a word for a person), 미친놈/
    미친년, 닥쳐, 꺼져, 씹-; fuck, shit, bitch, asshole, bastard, dick, prick, motherfucker.
    Degrading name-calling aimed at a person is `insult` without profanity too (쓰레기,
    버러지, 인간 말종, 거지 같은 놈, worthless idiot, pathetic loser, deadbeat, scumbag).
2.  Not `insult`: mild exclamations (헐, 젠장, 아놔, 에휴, damn, hell, crap, omg); the
    intensifier 개- on things (개맛있다, 개웃겨); 미쳤다 / insane / sick as praise; 미친 듯이;
    words that merely contain a slur's letters or initials (시발점, 수박, 버스, 부산, 배송,
    새끼 고양이, 강아지 새끼, 십팔번, Scunthorpe); light teasing without profanity (바보,
    nerd, dork) between friends.
3.  Hyperbole and banter without profanity are clean (`hard_negative`): "배고파 죽겠다",
    "죽을 만큼 피곤", "this deadline is killing me", and joking threats about trivial things
    between friends ("스포하면 가만 안 둔다 ㅋㅋ", "if you spoil the finale I'll kill you lol").
    Harm language tied to the debt, the payment, or the person's home, work or whereabouts is
    `threat`, even when it ends in ㅋㅋ or an emoji.
4.  A borrower (or anyone) quoting or reporting a threat they received, to ask for help or to
    report it, is clean (`hard_negative`): "그 사람이 회사에 알린다고 했어요", "he said he
    would come to my office, what do I do". If the report itself contains profanity it is
    `insult` only (rule 1), never the quoted category.
5.  Negations are clean ("회사에 알릴 생각 없어", "I'd never tell your parents"). Conditionals
    are not negations: "if you don't pay by Friday I'll tell your boss" is positive.
6.  Accurate lawful steps are clean: payment order (지급명령), small claims (소액심판/소액소송),
    a civil suit, a certified demand letter (내용증명), mediation, legal aid, and enforcement
    or garnishment *after a judgment* ("판결문 받았으니 채권압류 신청하겠습니다").
    `false_legal_threat`: seizure, garnishment, eviction, arrest, jail, a criminal record or
    a travel ban announced without any court process; impersonating police, prosecutors,
    courts or the financial regulator; claiming that not repaying is itself a crime (사기죄/
    횡령 고소 for plain nonpayment, "debt is a crime").
7.  `disclosure_threat` is telling or threatening to tell others (family, workplace, school,
    friends, church, social media) about the debt. `third_party_demand` is demanding payment
    from someone who does not owe, or asking them where the debtor is, also when it is polite
    and also when the message is sent to the third party. A message doing both gets both.
    Going to a third party's home or work "to collect" is `third_party_demand`; `threat` is
    added only with harm or intimidation words.
8.  `coerced_borrowing` is the creditor telling or urging the debtor to borrow (bank or card
    loan, cash advance, 사채, loan apps, family or friends "빌려서라도") to repay, politely or
    not. The borrower's own plan to borrow ("엄마한테 빌려서 갚을게", "카드론 받아서라도
    갚을게요") is clean. "tell your brother to pay" is `third_party_demand`; "borrow from your
    brother and pay me" is `coerced_borrowing`.
9.  `sexual`: sexual demands, offers to forgive debt for sex or intimate photos, sexual
    comments on the body, explicit content, whatever the relationship. "몸 팔아서라도 갚아"
    is `sexual`. Affection, non-sexual compliments ("오늘 예쁘다"), and the body in the
    sense of health ("몸 좀 챙겨", "몸은 괜찮아?") are clean. "장기라도 팔아" is `threat`.
10. Obfuscated variants keep their source's labels. Clean messages with ㅋㅋㅋㅋ, stretched
    vowels or zero-width characters stay clean: the obfuscation alone is not a category.
11. Jamo abbreviations of profanity (ㅅㅂ, ㅆㅂ, ㅂㅅ, ㅄ, ㄲㅈ, ㅈㄴ, ㅁㅊㄴ, 개ㅅㄲ) are
    `insult` (kind `obfuscated`); everyday ones (ㅇㅋ, ㄱㅅ, ㅇㅇ, ㄴㄴ, ㅊㅋ, ㅎㅇ, ㅂㅂ) clean.
12. News, TV, exams, jobs and everyday talk about police, courts, prosecutors, seizures or
    loans are clean ("뉴스 봤어? 불법 추심업자 구속됐대").
13. `lang` is the main language of a code-mixed message. `kind` is `positive` (any label),
    `obfuscated` (labels kept, spelling disguised), `hard_negative` (clean but full of
    trigger words or of the situations above) or `clean` (everyday chat, plain reminders
    are hard negatives because they talk about the debt).
"""

import json
import math
import random
import re
import sys
from collections import Counter
from pathlib import Path

SEED = 20250611
OUT = Path(__file__).resolve().with_name("train_pool.jsonl")

# The training code's categories and normalizer (FEATURES.md §1, standard library only, checked
# against the golden vectors that the Rust side passes too).
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from dataset import CATEGORIES  # noqa: E402
from features import normalize as normalized  # noqa: E402


# Minimums the output must meet, checked on exact texts and again after FEATURES.md
# normalization (which folds "시.발" back into "시발"): a shortfall stops the generator.
MIN_PER_CATEGORY = 420
MIN_CLEAN = 1000
MIN_HARD_NEGATIVE = 400
MIN_TEMPLATES = {"ko": 25, "en": 15}
KO_SHARE = (0.60, 0.70)
OBFUSCATED_SHARE = (0.12, 0.20)

# How many single-category template examples to make per category and language; the
# multi-label compositions and obfuscated variants come on top.
POSITIVE_TARGET = {"ko": 330, "en": 180}
# Multi-label compositions: (labels, Korean count, English count).
INSULT_WRAPS = {"ko": 52, "en": 26}
PAIR_COMPOSITIONS = (
    (("threat", "disclosure_threat"), 40, 20),
    (("threat", "third_party_demand"), 30, 15),
    (("disclosure_threat", "third_party_demand"), 28, 14),
    (("threat", "false_legal_threat"), 24, 12),
    (("coerced_borrowing", "threat"), 24, 12),
    (("disclosure_threat", "false_legal_threat"), 18, 9),
    (("coerced_borrowing", "disclosure_threat"), 18, 9),
    (("sexual", "threat"), 16, 8),
)
OBFUSCATE_FRACTION = 0.18  # of the positives; gives ~15% of all positives after adding
CLEAN_STYLE_FRACTION = 0.05  # clean messages that also get stretched letters / zero-width
# Clean targets per (kind, language).
CLEAN_TARGET = {("hard_negative", "ko"): 680, ("hard_negative", "en"): 350,
                ("clean", "ko"): 720, ("clean", "en"): 390}
ATTEMPTS = 30  # renders tried per template turn before it counts as exhausted

# --- slot fillers ----------------------------------------------------------------------------

KO_REL = ["엄마", "아빠", "어머님", "아버님", "와이프", "남편", "형", "누나", "언니", "오빠", "동생",
          "여자친구", "남자친구", "부모님", "할머니", "장모님", "시어머니", "처남", "사촌형", "여동생",
          "남동생", "삼촌", "예비 신부", "처제"]
KO_WORK = ["회사 팀장님", "팀장님", "부장님", "사장님", "동기", "회사 동기", "과장님", "직장 상사",
           "인사팀", "대표님", "회사 사람들", "알바 사장님", "팀 사람들", "거래처"]

KO = {
    "amt": ["50만원", "30만원", "100만원", "200만원", "300만 원", "5만원", "15만원", "80만원", "150만원",
            "이백만원", "삼십만원", "1,500,000원", "70만원", "500만원", "천만원", "20만원", "45만원",
            "120만원", "십만원", "250만원", "3백만원", "40만", "60만원", "7십만원"],
    "date": ["내일", "모레", "이번 주 금요일", "다음 주 월요일", "이번 달 말", "월말", "25일", "월급날",
             "오늘 밤", "오늘 저녁", "이번 주말", "3월 10일", "다음 달 5일", "수요일", "금요일 오후 6시",
             "내일 오전", "15일", "내일 점심", "목요일", "12월 31일", "다음 주 안"],
    "bank": ["국민은행", "카카오뱅크", "토스뱅크", "신한", "우리은행", "하나은행", "농협", "케이뱅크",
             "기업은행", "새마을금고", "우체국"],
    "app": ["토스", "카카오페이", "카톡 송금", "토스 송금", "계좌이체", "카뱅"],
    "rel": KO_REL,
    "work": KO_WORK,
    "who": KO_REL + KO_WORK + ["친구들", "동창들", "교회 사람들", "동네 사람들", "네 친구들", "동호회 사람들"],
    "wplace": ["회사", "학교", "직장", "사무실", "가게", "학원", "교회", "알바하는 데", "병원", "공장", "대학원",
               "지점", "매장"],
    "place": ["회사", "학교", "집", "직장", "사무실", "가게", "본가", "학원", "알바하는 데", "원룸", "오피스텔",
              "처가"],
    "platform": ["인스타", "페북", "카톡 단톡방", "블라인드", "동창 단톡방", "회사 단톡방", "에타", "당근",
                 "유튜브", "트위터", "네이버 카페", "밴드", "맘카페", "스레드", "틱톡"],
    "name": ["민수", "지훈", "수진", "영희", "철수", "현우", "지영", "은지", "동현", "서준", "하은", "태호",
             "준영", "미나", "성민", "유진", "상훈", "다은", "재원", "소희", "정우", "혜린"],
    "insult": ["병신", "개새끼", "미친놈", "미친년", "쓰레기", "개자식", "또라이", "등신", "븅신", "씹새끼",
               "호구새끼", "거지새끼", "양아치", "찐따", "버러지", "인간쓰레기", "십새끼", "개돼지",
               "정신병자", "미친새끼", "썩을 놈", "개같은 년"],
    "curse": ["시발", "씨발", "씨바", "존나", "좆같네", "개같네", "염병", "지랄", "씨팔", "시바", "좆나"],
    "violence": ["죽여버린다", "죽여버릴 거야", "패버린다", "다리 몽둥이를 분질러 버린다", "손모가지 날려버린다",
                 "묻어버린다", "가만 안 둔다", "반쯤 죽여놓는다", "끝장내버린다", "뼈도 못 추리게 해준다",
                 "밟아버린다", "가만두지 않을 거다", "병원 신세 지게 해준다", "평생 후회하게 해준다",
                 "찔러버린다", "얼굴 못 알아보게 만들어준다", "집 불 질러버린다", "이빨 다 부러뜨린다"],
    "food": ["치킨", "떡볶이", "삼겹살", "마라탕", "짜장면", "피자", "국밥", "초밥", "김치찌개", "곱창", "라면",
             "냉면", "돈까스", "족발", "파스타", "햄버거", "수박", "샐러드", "순대", "부대찌개"],
    "time": ["7시", "6시 반", "점심", "저녁", "내일 아침", "이따 8시", "토요일 오후", "금요일 저녁", "12시",
             "3시", "퇴근하고"],
    "meet": ["강남역", "홍대", "회사 앞", "집 앞", "신촌", "성수", "우리 동네", "버스정류장", "부산역", "카페",
             "판교", "잠실", "수원역"],
    "kid": ["민준이", "서연이", "지우", "하준이", "애들", "첫째", "둘째", "막내", "우리 딸", "우리 아들"],
    "congrats": ["축하해", "생일 축하한다", "합격 축하해!!", "결혼 축하해", "승진 축하한다", "취업 축하해",
                 "개업 축하해", "득남 축하해", "이직 축하한다"],
    "activity": ["영화 보러", "밥 먹으러", "커피 마시러", "산책하러", "운동하러", "노래방", "쇼핑하러", "캠핑",
                 "등산", "볼링 치러", "전시회 보러"],
    "loan": ["카드론", "현금서비스", "비상금대출", "신용대출", "마이너스통장", "사채", "대부업체 대출",
             "저축은행 대출", "약관대출", "모바일 대출", "리볼빙", "햇살론"],
}

EN_REL = ["mom", "dad", "wife", "husband", "brother", "sister", "girlfriend", "boyfriend", "parents",
          "grandma", "in-laws", "cousin", "roommate", "uncle", "fiancée", "aunt", "little brother"]
EN_WORK = ["boss", "manager", "team lead", "coworkers", "HR department", "supervisor", "clients",
           "whole team", "company", "landlord"]

EN = {
    "amt": ["$500", "$1,200", "$300", "$80", "3 million won", "500k won", "$2,000", "two grand",
            "300 bucks", "$750", "1.5 million won", "$150", "a thousand bucks", "$60", "200k won",
            "$4k", "$2,500", "800,000 won", "$900", "50 bucks"],
    "date": ["Friday", "tomorrow", "the end of the month", "the 25th", "next Monday", "payday",
             "March 10th", "tonight", "this weekend", "Wednesday", "noon tomorrow", "the 1st",
             "the end of the week", "Sunday night", "Thursday", "next week"],
    "app": ["Venmo", "Toss", "Kakao Pay", "PayPal", "Zelle", "KakaoBank", "Cash App", "Wise",
            "bank transfer", "Revolut"],
    "bank": ["Chase", "Shinhan", "KB", "Wells Fargo", "KakaoBank", "Woori", "Bank of America",
             "Hana Bank", "Citi", "a credit union"],
    "rel": EN_REL,
    "work": EN_WORK,
    "wplace": ["office", "work", "school", "job", "store", "restaurant", "church", "campus",
               "workplace", "gym", "salon"],
    "place": ["office", "work", "school", "house", "apartment", "parents' place", "store", "campus",
              "building", "dorm"],
    "platform": ["Instagram", "Facebook", "the group chat", "LinkedIn", "Twitter", "TikTok",
                 "the family group chat", "Reddit", "the company Slack", "the church group chat",
                 "the alumni group", "KakaoTalk", "Threads", "the neighborhood Facebook group"],
    "name": ["Mike", "Jess", "Sam", "Chris", "Dan", "Emily", "Tom", "Kate", "Jin", "Minho", "Sarah",
             "Alex", "Ryan", "Hana", "Josh", "Priya", "Nate", "Olivia"],
    "mname": ["Mike", "Dan", "Tom", "Jin", "Minho", "Ryan", "Josh", "Nate", "Kevin", "Jason"],
    "fname": ["Jess", "Emily", "Kate", "Sarah", "Hana", "Priya", "Olivia", "Yuna", "Megan"],
    "insult": ["idiot", "moron", "loser", "asshole", "bitch", "piece of shit", "dumbass", "bastard",
               "scumbag", "deadbeat", "prick", "jackass", "dipshit", "freeloader", "clown",
               "lowlife", "motherfucker", "waste of space"],
    "violence": ["break your legs", "beat the hell out of you", "make you bleed",
                 "put you in the hospital", "hurt you", "kill you", "mess you up", "smash your face in",
                 "burn your car", "end you", "break every bone in your hand", "slash your tires"],
    "food": ["pizza", "tacos", "ramen", "sushi", "burgers", "pho", "Korean BBQ", "chicken", "bibimbap",
             "pasta", "dumplings", "tteokbokki", "curry"],
    "time": ["7", "6:30", "noon", "lunch", "8 tonight", "10am", "after work", "3pm", "9"],
    "meet": ["the station", "Gangnam", "the mall", "campus", "downtown", "the park", "the office",
             "your place", "Hongdae", "the usual spot"],
    "kid": ["the kids", "Mia", "Leo", "Jiwoo", "Ethan", "the twins", "Sophie", "the baby"],
    "activity": ["a movie", "a hike", "brunch", "karaoke", "bowling", "the beach", "a picnic",
                 "the game", "a run"],
    "congrats": ["congrats on the new job", "happy birthday", "congrats on passing",
                 "congrats on the promotion", "happy wedding day", "congrats on the baby",
                 "congrats on the new place"],
    "loan": ["payday loan", "cash advance", "personal loan", "title loan", "credit card", "loan app",
             "line of credit", "loan shark", "second mortgage", "401k loan"],
}

SLOTS = {"ko": KO, "en": EN}

# --- positive templates ---------------------------------------------------------------------
# An entry is a template string, or (template, extra labels). A leading "@" marks formal
# (존댓말 / official) register: it gets formal openers and is not wrapped in insults.

POSITIVE = {
    "threat": {
        "ko": [
            "{date}까지 안 갚으면 진짜 가만 안 [둔다|둬|둘 거야]",
            "너 {place} 어딘지 다 알아. 찾아가서 [가만 안 둘 거야|가만 안 둔다|끝장낼 거야]",
            "돈 안 갚으면 {violence}",
            "밤길 조심해라. {amt} 안 보내면 무슨 일 생길지 [몰라|모른다]",
            "지금 {place} 앞으로 간다. [기다려라|도망가지 마라|나와 있어]",
            "{amt} 떼먹고 잘 살 수 있을 것 같냐? [각오해|각오해라|두고 봐]",
            "너 진짜 내 손에 [죽는다|죽을 줄 알아]",
            "한 번만 더 연락 씹으면 찾아가서 {violence}",
            "사람 풀어서 너 찾는 거 일도 아니[야|다]. {date}까지 연락해",
            "후회하게 만들어 줄게. {date}까지[다|야]",
            "네 차 어디 세워두는지 알아. 무사할 거라 생각하지 마",
            "얼굴 보면 그냥 안 넘어간다 [진짜|알아둬]",
            "돈 없으면 장기라도 팔아. {date}까지 못 가져오면 [각오해|끝이야]",
            "다리 하나 없어져 봐야 정신 차리[지?|겠냐?|냐]",
            "{name}{아/야} 너 오늘 집에 [곱게 |]못 들어갈 줄 알아",
            "내일 {place}{으로/로} 애들 데리고 간다. 각오해",
            "니네 집 주소 다 알고 있다. 문 앞에서 기다[린다|릴게]",
            "{date}까지 안 보내면 너 진짜 [끝이야|끝이다|죽었다고 생각해]",
            "몸 성하게 다니고 싶으면 {date}까지 입금해",
            "내가 어떤 사람인지 보여줘? 계속 잠수 타[봐|봐라]",
            "전화 안 받지? 직접 찾아가면 그땐 말로 안 끝나",
            "불 질러버리기 전에 [연락해라|돈 보내라]",
            "경고한다. 마지막이야. 다음엔 주먹 나간다",
            "{amt} 갖고 장난치냐? 죽고 싶[냐|어]?",
            "오늘 안에 답 없으면 {violence}",
            "[내일|오늘 밤|이번 주말|금요일] 너네 {place} 앞에서 보자. 도망가면 끝까지 쫓아간다",
            "조용히 끝내고 싶으면 {date}까지 {amt} 보내. 아니면 험한 꼴 볼 거[야|다]",
            "쥐도 새도 모르게 사라지는 수가 있[어|다]. 명심해",
            "칼 들고 찾아가기 전에 갚아라",
            "너 때문에 빵 갈 각오 됐다. 어떻게 되나 [보자|두고 보자]",
            "@{date}까지 입금 안 되면 저도 어떻게 나갈지 모릅니다. 몸조심하세요",
            "@좋게 말할 때 갚으세요. 험한 꼴 보기 싫으면",
            "@직접 찾아가서 받아낼 겁니다. 그때는 저도 장담 못 합니다",
            "{amt} 안 갚으면 니 인생 [끝장내줄게|망가뜨려줄게]",
            "니가 어디 숨어도 [찾아낸다|다 찾아낼 거야]. 그땐 각오해",
            "문 부수고 들어가기 전에 문 열어라",
            "매일 밤 너네 집 앞에 서 있을 거[야|다]. {date}까지 입금해",
        ],
        "en": [
            "pay me the {amt} by {date} or you'll regret it",
            "I know where you [live|work]. don't make me come over there",
            "you think you can just ghost me? I'll find you",
            "keep ignoring me and see what happens to you",
            "I swear I'll {violence} if I don't get my money",
            "watch your back. {date} is your last chance",
            "last warning. next time I won't be this nice",
            "I'm outside your {place} right now. come down or I'm coming up",
            "you better pay up before something happens to your car",
            "I'll make you wish you never borrowed a cent from me",
            "one more excuse and I'm going to {violence}, I mean it",
            "I know people who collect for a living. you don't want them at your door",
            "you'll be sorry when I show up at your {place}",
            "pay or I'll beat it out of you",
            "you have until {date}. after that I'm not responsible for what happens to you",
            "try hiding from me. I will find you and you'll pay, one way or another",
            "do you want to end up in the hospital? send the {amt}",
            "keep dodging my calls and I'll {violence}",
            "you're dead if that money isn't in my account by {date}",
            "I'll be waiting outside your {place} every night until I get the {amt}",
            "@If the {amt} is not returned by {date}, I can't promise you'll be safe",
        ],
    },
    "disclosure_threat": {
        "ko": [
            "{date}까지 안 갚으면 {wplace}에 다 [알린다|알릴 거야|말한다]",
            "{who}한테 너 돈 안 갚는 거 다 말할 거[야|다|임]",
            "{platform}에 네 빚 다 [올린다|올릴 거야|올려버린다]",
            "{platform}에 너 사진이랑 같이 {amt} 안 갚은 거 박제할 거[야|다]",
            "너희 {work}한테 전화해서 다 [얘기할까?|얘기한다|말한다]",
            "회사 사람들이 알면 좋겠어? 계속 잠수 타[봐|봐라]",
            "네 {rel}한테 이 카톡 캡처 다 [보낸다|보낼 거야]",
            "동창들 다 알게 해줄게. 너 돈 떼먹고 잠수 탄 거",
            "{wplace} 정문에 대자보 붙일까? 돈 안 갚는 사람이라고",
            "지금 {who} 번호 알아냈어. 연락해서 다 [말한다|말할 거야]",
            "블라인드에 너희 회사 이름 걸고 글 쓴다",
            "너 결혼식 때 하객들한테 다 말해줄까?",
            "인스타 스토리에 너 차용증 올린다. {date}까지 기다[린다|릴게]",
            "너 다니는 {wplace}에 전화해서 돈 문제 다 얘기한다",
            "단톡방에 너 빚진 거 공지[할게|한다|해버린다]",
            "{amt} 빌려가서 안 갚는다고 {platform}에 올려도 돼?",
            "너 이직한 회사 인사팀에 메일 [보낼 거야|보낸다]",
            "{wplace} 사람들 다 알게 되면 창피하지 않겠어?",
            "네 {rel}한테 너 빚 얼마인지 말해줄까?",
            "너 신상 다 털어서 {platform}에 올린다",
            "동네방네 소문 다 [낼 거다|낸다|내버린다]",
            "애 학교 학부모 단톡방에 올리면 얼굴 어떻게 들고 다닐래?",
            "내일 {work}한테 직접 찾아가서 [말씀드릴게|다 말할 거야]",
            "SNS에 실명이랑 같이 올린다 진짜",
            "{date}까지 입금 없으면 {who}한테 다 [알린다|불어버린다]",
            "네 부모님 댁 전화번호 알아냈다. 다 말씀드릴게",
            "너네 팀 단톡방에 캡처 [뿌린다|뿌릴 거야]",
            "가족들 다 아는 거 시간문제야. {date}까지 입금해",
            "친구들한테 돈 빌려가고 잠수 탄 거 다 말할 거임",
            "@{date}까지 연락 없으시면 직장에 사정 말씀드리겠습니다",
            "@계속 이러시면 {rel}께 다 말씀드릴 수밖에 없어요",
            "@회사 대표님께 메일로 상황 알려드리겠습니다",
            "너 회사 거래처에도 다 소문낼 거야",
            "교회에서 광고해줄까? 너 빚쟁이라고",
            "이 카톡 전부 {platform}에 [공개한다|공개할 거야]",
        ],
        "en": [
            "pay by {date} or I'm telling your {work}",
            "I'll post your debt on {platform}",
            "should I let your {rel} know you owe me {amt}?",
            "everyone in {platform} is going to know you don't pay your debts",
            "I'm calling your {wplace} tomorrow and telling them everything",
            "how would your {rel} feel if they saw these messages? I'm sending them",
            "I'll screenshot this whole chat and send it to your {work}",
            "I'm going to tell all our friends you borrowed {amt} and vanished",
            "your coworkers will find out, I promise",
            "I'll put your name and the IOU on {platform}",
            "I'm emailing HR at your company about the money",
            "your whole church will know about this",
            "keep ignoring me and I'll tell your {rel} everything",
            "I have your {rel}'s number. want me to tell them about the loan?",
            "I'll make a post tagging you so everyone sees you owe me",
            "I'll expose you on {platform} if I don't hear back by {date}",
            "I'm going to tell your new employer you owe me money",
            "want your in-laws to find out? pay up",
            "if the money isn't back by {date}, {platform} gets the screenshots",
            "@Unless payment is made by {date}, I will inform your employer of this debt",
        ],
    },
    "false_legal_threat": {
        "ko": [
            "내일 바로 집 압류 [들어갑니다|들어간다|들어갈 거야]",
            "{date}까지 안 갚으면 경찰에 넘겨서 구속시킬 거[야|다]",
            "돈 안 갚는 건 사기죄야. 고소하면 너 바로 감방 간다",
            "검찰에서 곧 연락 갈 거다. 기다려",
            "너 이미 수배 떨어졌어. 잡히는 건 시간문제야",
            "@법원에서 출석요구서 나갔습니다. {date}까지 안 오시면 체포됩니다",
            "내일 집행관 데리고 가서 살림살이 다 빼간다",
            "월급 통장 오늘부로 압류[했다|할 거다]",
            "{amt} 안 갚으면 형사처벌 받는 거 몰라?",
            "경찰서 아는 형님한테 말해놨다. 너 조사받게 될 거야",
            "채무불이행이면 전과자 되는 거 알지?",
            "@이거 횡령이라 징역형이에요. 빨리 입금하세요",
            "너 {date}부터 출국금지 [걸린다|걸릴 거야]",
            "차 압류 스티커 붙이러 간다 오늘",
            "고소장 이미 접수했어. 내일 형사가 너 찾아갈 거야",
            "@수사관입니다. {name} 씨 채무 건으로 연락드렸습니다. 오늘 중 입금 안 하시면 체포영장 발부됩니다",
            "@금융감독원입니다. 미납금 {amt} 오늘까지 안 내시면 계좌 동결됩니다",
            "내일부터 전 재산 압류 [들어간다|들어갈 거야]",
            "돈 안 갚으면 감옥 가는 거 알고 있지?",
            "이미 법원에 다 얘기해놨어. 다음 주에 니 집 경매로 넘어간다",
            "경찰이 너 찾으러 {place}{으로/로} 갈 거다",
            "@{date}까지 입금 없으면 사기죄로 형사고소 들어갑니다",
            "너 이거 안 갚으면 빨간 줄 [간다|그어진다]",
            "변호사 말로는 너 무조건 실형이래",
            "@곧 법원에서 사람 나와서 집 봉인할 거예요",
            "압류 딱지 붙기 싫으면 {date}까지 보내",
            "지금 바로 입금 안 하면 112에 신고해서 잡아가게 할 거야",
            "판결이고 뭐고 필요 없어. 오늘 바로 월급 압류 건다",
            "검사 출신 지인한테 부탁했어. 너 구속 각이야",
            "이건 민사가 아니라 형사사건이야. 너 전과 생겨",
            "@고객님 채무 건은 형사 절차로 넘어갔습니다. 금일 중 입금 바랍니다",
            "돈 안 갚으면 {wplace}까지 경찰 보낸다. 수갑 차고 싶냐",
            "통장 다 정지시키고 여권도 막을 거야",
            "@법원 집행명령 떨어졌습니다. 내일 오전 중 가재도구 압류 예정입니다",
        ],
        "en": [
            "your [house|car|apartment] will be seized [tomorrow|{date}] if I don't get paid",
            "not paying me back is [fraud|theft|a crime]. you'll be arrested",
            "I've already [called|talked to] the police, they're coming for you [{date}|tonight|at your {place}]",
            "@This is the prosecutor's office regarding your unpaid debt of {amt}. Pay today to avoid arrest",
            "I'll have your wages frozen by {date}, no court needed",
            "you're going to jail for [this|the {amt}], I promise",
            "there's a warrant out for you already[| so pay up| since you skipped {date}]",
            "I'm filing criminal charges for [theft|fraud|embezzlement] {date}",
            "the bailiffs are coming {date} to take your car",
            "you'll get a criminal record if you don't pay {amt} by {date}",
            "my cousin's a cop, he'll arrest you if you don't pay",
            "court officers will be at your {place} {date} to seize everything",
            "I can freeze your {bank} account [today|by {date}], just watch",
            "debt is a crime here, you'll be locked up [if you don't pay|by {date}]",
            "they'll put a seizure notice on your [door|car|{place}] {date}",
            "unpaid loans = jail time. pay by {date}",
            "I'm pressing charges, the police will pick you up at your {wplace}",
            "you'll be banned from leaving the country until you pay me [the {amt}|back]",
            "@Final notice from the court: failure to pay {amt} by {date} will result in your arrest",
        ],
    },
    "coerced_borrowing": {
        "ko": [
            "{loan}{이라도/라도} 받아서 {date}까지 [갚아|보내|입금해]",
            "사채를 쓰든 뭘 하든 {amt} 가져와",
            "{rel}한테 빌려서라도 [갚아라|갚아|보내]",
            "대출 받아서 오늘 보내. 모바일로 10분이면 [된다|돼]",
            "현금서비스 받으면 되잖아. 변명하지 마",
            "{bank}에서 {loan} 받아서 갚으라고",
            "내가 아는 대부업체 소개해줄게. 거기서 빌려서 갚아",
            "마이너스통장 뚫어서라도 보내",
            "카드 돌려막기를 하든 말든 내 알 바 아니고 {date}까지 입금해",
            "보험 약관대출 받아. 그걸로 갚으면 되지",
            "친구들한테 좀 빌려봐. 어떻게든 [만들어와|구해와]",
            "대출 앱 깔아. 지금 바로 신청해서 보내",
            "적금 깨고 모자라면 {loan} 받아",
            "햇살론 신청해서 그 돈으로 나부터 갚아",
            "{bank} 신용대출 한도 나오지? 그거 받아서 보내",
            "사채라도 알아봐. 나는 {date}까지 무조건 받아야 돼",
            "차 담보대출 받아서 갚으면 되잖아",
            "{bank} 비상금대출 바로 나와. 그거 받아",
            "토스에서 대출 한도 조회해봐. 나오면 바로 받아서 보내",
            "주변에 돈 빌릴 사람 없어? 아무한테나 빌려서 갚아",
            "@다른 데서 대출을 받으셔서라도 이번 달 안에 정리해 주세요",
            "@카드 현금서비스 받으시면 당일 입금 가능하잖아요",
            "대부업체 번호 보내줄 테니까 거기 전화해",
            "월급 가불 받아서 갚아. 회사에 말해",
            "저축은행 가면 바로 빌려줘. 그걸로 [갚아|갚으라고]",
            "돈 없다는 소리 그만하고 대출이라도 받아 와",
            "리볼빙 돌리든 카드론 받든 알아서 해. 난 돈만 받으면 돼",
            "네 명의로 대출 하나 더 받아서 갚으면 되잖아",
            "신용카드 한도 남았잖아. 현금화해서 보내",
            "{rel} 명의로 대출 받아서 [갚아|메꿔]",
            "@{loan} 이용하시면 {date}까지 충분히 가능하실 텐데요",
            "급전 대출 광고 많잖아. 아무 데나 [받아서 보내|빌려서 메꿔]",
            "휴대폰 소액결제 현금화라도 해서 보내",
        ],
        "en": [
            "take out a {loan} and pay me by {date}",
            "just get a cash advance on your [credit card|{bank} card] and send it by {date}",
            "borrow it from your {rel} if you have to, I don't care",
            "go to a loan shark for all I care, I want my {amt}",
            "apply for a {loan} at {bank} today and send it",
            "max out your [credit card|cards], that's your problem. I want {amt} by {date}",
            "ask your [friends|{rel}|coworkers] to lend you the money and pay me back [by {date}|today]",
            "open another credit card and transfer [it|the {amt}] to me",
            "there are loan apps that pay out in [10|15|30] minutes. use one[| and pay me {date}]",
            "take a loan against your [car|house|savings] and pay me [the {amt}|by {date}]",
            "refinance, borrow from a lender, whatever. just get me {amt} by {date}",
            "get an advance on your salary and pay me [by {date}|the {amt}]",
            "you have a credit line [at {bank}|], draw on it and send the money",
            "borrow from [someone else|anyone|a friend] and pay me first",
            "I can give you the number of a guy who lends fast. call him [today|now]",
            "take out a loan on your phone right now, it's {amt}, [easy|done in minutes]",
            "put it on a credit card and send it via {app}",
            "sell your stuff or borrow it, I don't care how[| you get the {amt}]",
            "@Please consider a {loan} so the {amt} can be repaid by {date}",
        ],
    },
    "third_party_demand": {
        "ko": [
            "너희 {rel}한테 받으러 [간다|갈 거야|갈게]",
            "{rel}한테 대신 갚으라고 해",
            "{rel} 번호 줘. 그쪽이랑 얘기[할게|하면 돼]",
            "@어머님, {name} 씨 연락이 안 됩니다. 대신 {amt} 갚아주셔야겠어요",
            "@{name} 씨 어디 있는지 아시죠? 알려주세요",
            "너네 {rel} 회사로 찾아가서 받아낼 거야",
            "@형님이 동생 빚 좀 대신 갚아주세요",
            "@{name} 친구분 맞으시죠? {name}한테 빌려준 {amt} 친구분이 좀 대신 책임져 주세요",
            "네 {rel}한테 돈 받아낼 [거야|거다|테니까 그렇게 알아]",
            "부모님 댁 주소 알려줘. 거기 가서 받을게",
            "{rel}한테 연락해서 {amt} 보내라고 했어. 너도 말해놔",
            "@{name} 씨 동생분 맞으시죠? 형님 지금 어디 사시는지 아세요?",
            "너 연락 안 되니까 니 {work}한테 돈 받아야겠다",
            "가족이면 대신 갚아야지. {rel} 연락처 내놔",
            "@남편분이 진 빚이니까 아내분이 갚으셔야죠",
            "너희 아버지한테 전화했다. 아들 빚 갚으시라고",
            "네 친구들한테 돌아가면서 받을 거야",
            "{name} 지금 어디 살아? 너 알잖아. 말 안 하면 너한테 받는다",
            "동생한테 월급날마다 조금씩 갚으라고 해",
            "{rel}{이/가} 대신 갚기로 했다며? 그럼 {rel} 연락처 [내놔|보내]",
            "@{name} 씨 회사 동기분이시죠? {name} 씨 요즘 어디 출근하는지 아시면 알려주세요",
            "@가족이 대신 갚는 게 도리 아닙니까?",
            "니네 누나 가게로 찾아가서 받을게",
            "@{name} 씨 행방 아시는 분 연락 주세요. 대신 갚아주셔도 됩니다",
            "@{rel}께서 대신 {amt}만 먼저 보내주시면 나머지는 {name} 씨한테 받을게요",
            "너네 부모님한테 집 팔아서라도 갚으라고 [해|할 거야]",
            "너 대신 {rel}한테 매일 전화할 거야. 그쪽이 갚든가",
            "여자친구한테 돈 좀 달라고 해야겠네",
            "@{name} 씨 가족분 맞으시죠? {name} 씨 빚 {amt} 언제 갚아주실 건가요",
            "{name} 어디 숨었는지 너는 알지? 불어. 아니면 니가 대신 갚아",
            "너희 {rel} 월급날 언제야? 그날 받으러 간다",
            "{work}한테 니 월급에서 떼서 나한테 달라고 할 거야",
        ],
        "en": [
            "I'm going to your {rel}'s place to collect",
            "tell your {rel} to pay what you owe",
            "give me your {rel}'s number, they can pay for you",
            "@Hi, is this {mname}'s mom? Your son owes me {amt} and I need you to pay it",
            "do you know where {mname} is living now? he owes me money",
            "your {rel} can cover it, family pays for family",
            "I'll just get the money from your {work}",
            "since you won't answer, I'm asking your friends to pay",
            "hey, you're {mname}'s roommate right? where is he? he owes me {amt}",
            "I called your parents. they're paying by {date} whether they like it or not",
            "your wife can pay me then",
            "if you can't, your brother will. I'll see him {date}",
            "tell me where {fname} works now or you're paying her debt",
            "I'll be at your mom's place {date} to pick up the {amt}",
            "@Hi, I'm trying to reach {fname}. You're her sister? Please pay her balance of {amt} on her behalf",
            "your dad has money, make him pay",
            "I'll ask your girlfriend for the {amt} then",
            "ask your {work} to pay me out of your salary, or I will",
            "where's {mname} hiding? you're his best friend, you know. either tell me or pay",
        ],
    },
    "insult": {
        "ko": [
            "{curse} 언제 갚을 건데",
            "이 {insult}{아/야}",
            "야 {insult}{아/야} 돈 [갚아|보내|입금해]",
            "{curse} 진짜 너 같은 {insult}{은/는} 처음 본다",
            "연락 좀 받아라 {insult}{아/야}",
            "{curse} 또 핑계[냐|야]",
            "너는 인간이 아니다 진짜 {insult}",
            "돈 빌릴 땐 좋았지? {insult} 같은 게",
            "닥치고 입금이나 해",
            "꺼져 {insult}{아/야}. 돈이나 보내",
            "{curse} 말귀를 못 알아듣네",
            "니 머리는 장식이냐 {insult}{아/야}",
            "이런 {insult}한테 돈 빌려준 내가 {insult2}{이다/다}",
            "{curse} [존나|진짜] 짜증나네",
            "그 {insult} 또 문자 보냈어 {curse}",
            "야 이 {insult_friend}{아/야} ㅋㅋ {congrats}",
            "{curse} 오늘 팀장 때문에 빡쳤어",
            "지랄하지 말고 돈 보내",
            "염병하네 진짜",
            "{curse} 또 잠수 탔네 저 {insult}",
            "니가 사람이냐? 개만도 못한 {insult}",
            "어휴 {insult} 같은 놈. 그 돈으로 뭐 했냐",
            "아 {curse} [버스 놓쳤어|지갑 두고 왔어|폰 액정 깨졌어|또 야근이야]",
            "좆까. 니 사정은 모르겠고 {amt}{은/는} 받아야겠다",
            "{insult}{아/야} 장난하냐? 빌려갈 땐 간이라도 빼줄 것처럼 굴더니",
            "씹새야 전화 받아",
            "개념 없는 {insult}{아/야}",
            "@당신 같은 쓰레기는 처음 봅니다",
            "{name} 저 {insult} 진짜 손절해야 됨 {curse}",
            "뭐 이런 {insult}{이/가} 다 있냐",
            "병신 짓 그만하고 입금해",
            "ㅋㅋㅋ 야 개새끼야 [오랜만이다|살아있었냐|보고 싶었다]",
            "대가리 꽃밭이냐 {insult}{아/야}",
            "돈 갚으라고 {curse}, 몇 번을 말해",
            "@사람 새끼 맞으세요? 진짜 역겹네요",
            "{curse} 이 {insult}{아/야} 대답 좀 해",
        ],
        "en": [
            "you worthless {insult}",
            "pay me back you {insult}",
            "what the fuck is wrong with you",
            "answer your phone, {insult}",
            "fuck off with your excuses",
            "you're a {insult}, you know that?",
            "shut the fuck up and send the money",
            "stop being such a {insult}",
            "holy shit you're useless",
            "lmao you {insult}, {congrats}",
            "{name} is such a {insult} omg",
            "ugh my boss is a fucking {insult}",
            "what a pathetic {insult}. borrowing {amt} and disappearing",
            "you dumb bitch, where's my money",
            "eat shit",
            "nobody likes you, you {insult}",
            "are you fucking kidding me? again?",
            "fucking hell, [missed the bus again|my phone died|I'm late again]",
            "you're a disgrace, a total {insult}",
            "@Frankly, you are a worthless piece of shit",
        ],
    },
    "sexual": {
        "ko": [
            "돈 없으면 몸으로 [갚아|갚아라|갚든가|때워]",
            "하룻밤 같이 있어주면 {amt} [탕감해줄게|없던 걸로 해줄게|까줄게]",
            "가슴 사진 보내면 [이자는 빼줄게|{date}까지 기다려줄게|이번 달은 봐줄게]",
            "벗은 사진 한 장이면 [이번 달은 넘어가 줄게|{amt} 까줄게|{date}까지 안 받을게]",
            "모텔에서 만나서 얘기하자. 그럼 [좀 봐줄게|이자 없애줄게|{amt} 깎아줄게]",
            "너 몸매 좋던데 그걸로 갚으면 되잖아[| ㅎㅎ| 😏]",
            "속옷 입은 사진 [보내봐|보내줘|찍어서 보내]",
            "술 한잔하고 자고 가면 [다 없던 일로 해줄게|{amt} 까줄게|이자는 안 받을게]",
            "어제 그 [치마|원피스|레깅스] 입은 거 보니까 꼴리더라",
            "영상통화로 한번 [보여주면|벗어주면] {date}까지 기다려줄게",
            "나랑 [자면|한 번 자주면|잠자리 한 번이면] [이자 없애줄게|{amt} 탕감이야|원금도 깎아줄게]",
            "섹스 한 번이면 [퉁치자|{amt} 없던 걸로 하자|끝내줄게]",
            "[엉덩이|허벅지|다리] 사진 보내주면 {date}까지 기다려줌",
            "너 생각하면서 [자위했어|딸쳤어|혼자 했어]",
            "몸 팔아서라도 [갚아|{amt} 만들어와|{date}까지 가져와]",
            "{name}{아/야} 오늘 밤에 우리 집 올래? 빚 얘기는 [침대에서 하자|자면서 하자]",
            "야한 사진 보내면 [돈 안 받을게|{amt} 까줄게|{date}까지 봐줄게]",
            "다리 벌리면 [갚은 걸로 칠게|{amt} 없던 걸로 해줄게]",
            "네 입술 [보니까|생각하면] 키스하고 싶다. 돈 대신 그걸로 해",
            "@저랑 호텔에서 한 번 만나 주시면 [원금 깎아드릴게요|{amt} 탕감해 드릴게요|이자는 안 받겠습니다]",
            "샤워하고 [사진 찍어서 보내|영상 찍어서 보내|벗은 채로 영통해]",
            "몸 좀 보여주면 [연장해줄게|{date}까지 미뤄줄게|이자 안 받을게]",
            "그 돈 대신 하룻밤이면 [충분해|퉁칠게|끝이야]",
            "너 남친이랑 [몇 번 했어?|어디까지 했어?|자봤어?]",
            "가슴 몇 컵이야? [궁금하네|솔직히 말해봐]",
            "알몸 사진 보내면 [이번 달 이자 없음|{amt} 탕감|{date}까지 안 받음]",
            "나한테 잘 보이면 돈 안 받을 수도 있어. 무슨 뜻인지 알지? [😏|ㅎㅎ|]",
            "네가 직접 와서 서비스해주면 [끝|{amt} 없던 걸로 함]",
            "치마 짧게 입고 [와|{meet}{으로/로} 나와]. 그럼 [얘기 들어줄게|기다려줄게]",
            "너 벗은 거 [상상했어|상상하면서 잤어|보고 싶다]",
            "자고 가면 {amt} 없던 걸로 해준다니까",
            "@사진 몇 장만 보내주시면 돼요. 옷은 안 입으셔도 되고요",
            "키스 한 번에 {amt}씩 까줄게",
            "[가슴|엉덩이] 한 번만 만지게 해주면 {date}까지 기다려줄게",
            "돈 못 갚겠으면 [룸살롱|업소]에서 일해서라도 갚아",
        ],
        "en": [
            "send me nudes and I'll [forget the interest|wait till {date}|knock {amt} off]",
            "you can pay me back with your body",
            "spend the night with me and [we're even|I'll forget the {amt}]",
            "sleep with me and I'll [wipe the {amt}|give you till {date}|forget the interest]",
            "send a pic in your [underwear|bra|panties|bikini]",
            "come over tonight, we can settle the debt in bed",
            "show me your [tits|boobs|ass] and I'll give you [another week|till {date}]",
            "you looked so hot in that [dress|skirt], I want you in my bed",
            "one night with you and the loan's forgiven",
            "how about you get on your knees instead of paying",
            "I've been thinking about you naked [all day|again|😏]",
            "video call me topless and I'll wait till {date}",
            "sex for the debt. [simple|deal?|that's my offer]",
            "wear something [sexy|short|tight] when you come to pay me back",
            "let me touch you and we'll call it even",
            "send me something spicy 😏 and I'll extend it to {date}",
            "you owe me, so you'll [sleep with me|come to my bed tonight]",
            "I want to see you naked, that's the price[| of the {amt}]",
            "@A private evening at my hotel would settle the {amt} nicely",
            "a blowjob and we forget the {amt}",
            "I'll take it out in trade if you know what I mean 😏",
        ],
    },
}

# Insults wrapped around another category's message (adds `insult`).
INSULT_PREFIX = {
    "ko": ["야 이 {insult}{아/야} ", "{curse} ", "{curse} 진짜 ", "야 {insult}{아/야} ", "{insult}{아/야} ",
           "이 {insult}{아/야} ", "{curse} 야 "],
    "en": ["listen you {insult}, ", "you fucking {insult}, ", "hey {insult}, ", "fuck you. ",
           "shit, ", "you little {insult}, "],
}
INSULT_SUFFIX = {
    "ko": [" {curse}", " 이 {insult}{아/야}", ". 알아들어 {insult}{아/야}?", ". {curse} 진짜", " {insult} 같은 게"],
    "en": [", you {insult}", " you fucking {insult}", ". fuck you", ", dumbass", ". piece of shit",
           ", {insult}"],
}
KO["insult_friend"] = ["미친놈", "미친년", "병신", "또라이", "개새끼", "미친새끼"]
KO["insult2"] = ["병신", "등신", "호구", "미친놈", "븅신"]

# --- clean templates: hard negatives and everyday chat ---------------------------------------

HARD_NEGATIVE = {
    "ko": {
        "reminder": [
            "{name}{아/야} 혹시 저번에 빌려간 {amt} {date}까지 [보내줄 수 있어?|가능해?|될까?]",
            "@{date}까지 {amt} 상환 부탁드립니다",
            "@이번 달 말까지 상환 부탁드립니다. 계좌는 {bank} 그대로예요",
            "벌써 [세|네] 번째 말하는 건데 {date}까지는 꼭 보내줘. 나도 카드값 나가야 돼",
            "약속한 날짜 지났어. 언제 가능한지만 알려줘",
            "솔직히 좀 서운하다. 돈 문제는 확실히 하자",
            "부담되면 나눠서 갚아도 돼. {amt}씩 두 번 어때?",
            "{app}{으로/로} 보내주면 돼. {date}까지만 부탁해",
            "@더 이상 미루기는 어렵습니다. {date}까지 꼭 입금 부탁드려요",
            "@답장이 없으셔서 다시 연락드려요. 상환 일정만 알려주세요",
            "@차용증에 적은 대로 {date}까지 {amt} 부탁드립니다",
            "[야|아] 돈 얘기 꺼내기 미안한데 {amt} 언제쯤 돼?",
            "나 이번 달 진짜 빠듯해서 그래. {date}까지만 좀 보내줘 ㅠㅠ",
            "{amt} 중에 반은 받았고 나머지 {date}까지 부탁해",
            "이자는 됐고 원금만 {date}까지 보내줘",
            "계속 미뤄지니까 나도 좀 곤란하다. 이번엔 꼭 지켜줘",
            "@{name}님, {date}까지 입금이 어려우시면 미리 말씀 부탁드려요",
            "확실히 해두자. {date}까지 {amt}. 안 되면 미리 말해줘",
            "야 {date} 월급날이지? 그때 보내주면 돼",
            "다음 주까지는 진짜 받아야 돼. 나도 월세 내야 돼서",
            "돈 갚으라고 계속 말하는 것도 지친다. {date}까지 부탁할게",
            "@{bank} 계좌로 {amt} 보냈습니다. 확인 부탁드립니다",
            "입금 확인했어! 고마워 ㅎㅎ",
            "{amt} {bank}{으로/로} 보냈어 확인해봐",
            "방금 {app}{으로/로} {amt} 쐈다",
            "저번 달 거까지 합치면 {amt}{이야/야}. 맞는지 확인해줘",
            "@독촉하는 것 같아 죄송하지만 {date}까지는 꼭 부탁드립니다",
            "마지막으로 말할게. {date}까지 {amt} 보내줘. 더는 못 기다려",
        ],
        "lawful": [
            "@{date}까지 연락이 없으면 지급명령 신청하겠습니다",
            "@어쩔 수 없이 소액심판 청구하겠습니다",
            "@내용증명 보냈으니 확인 부탁드립니다",
            "변호사랑 상담해 봤는데 민사소송 [진행하려고 해|할 거야|하기로 했어]",
            "@법원에 지급명령 신청했습니다. 송달되면 2주 안에 이의신청하실 수 있습니다",
            "@판결 확정되면 강제집행 절차를 밟을 수밖에 없습니다",
            "금액이 {amt}{이라/라} 소액사건으로 전자소송 넣으려고",
            "법률구조공단 상담 받아보니까 지급명령이 제일 빠르대",
            "차용증이랑 이체내역 다 있으니까 [법대로 할게|소송으로 갈게]. 근데 그 전에 한 번만 더 얘기하자",
            "@{date}까지 상환이 안 되면 부득이 민사소송을 제기하겠습니다",
            "@내용증명으로 정식 청구서 보내드리겠습니다",
            "@대한법률구조공단에 문의해서 절차대로 진행하겠습니다",
            "소송 가면 너도 나도 피곤하잖아. 그 전에 해결하자",
            "@판결문 받았습니다. 법원 절차에 따라 채권압류 신청하겠습니다",
            "@판결 없이 압류하는 건 불가능한 거 알고 있어요. 그래서 소송 절차 밟으려고요",
            "@소액심판 청구서 작성 중입니다. {date}까지 연락 주세요",
            "안 되면 지급명령 신청할 수밖에 없어. 나도 그거 하기 싫다",
            "@변호사 통해 내용증명 발송 예정입니다",
            "법원에 조정신청도 할 수 있대. 중간에서 조정해 주는 거",
            "@이행권고결정 나오면 그때 다시 말씀드리겠습니다",
            "전자소송 사이트에서 지급명령 신청서 써봤는데 생각보다 간단하더라",
            "@{amt} 반환 청구 소송 접수했습니다. 법원에서 우편 갈 거예요",
        ],
        "quoting": [
            "그 사람이 {wplace}에 알린다고 했어요. 어떻게 해야 하나요?",
            "빌려준 사람이 집으로 찾아온다고 하는데 [신고해도 되나요?|어떡하죠?|무서워요]",
            "{rel}한테 대신 갚으라고 전화 왔대 ㅠㅠ 너무 무서워",
            "사채업자가 카드론 받아서 갚으라고 하는데 이거 불법 아닌가요?",
            "걔가 나보고 몸으로 갚으라고 했어... 캡처해놨어",
            "경찰 부른다고 [협박하는데|하던데] 진짜 잡혀가요?",
            "내일 압류 들어온다고 문자 왔는데 이거 진짜예요?",
            "죽여버린다는 문자 받았어요. 경찰에 신고하려고요",
            "{platform}에 올린다고 협박 받았는데 어떡하지",
            "채권자가 {rel}한테 연락했대요. 이거 불법추심 맞죠?",
            "오늘 또 사기죄로 고소한다고 문자 왔어. 이게 가능한 거야?",
            "그 사람이 {wplace}{으로/로} 찾아온다고 했대. 나 진짜 무섭다",
            "사진 보내면 이자 빼준다는 이상한 문자 왔어. 신고할게",
            "@지금 불법추심 당하고 있는 것 같아요. 금감원에 신고하면 되나요?",
            "'{date}까지 안 갚으면 회사에 다 알린다'는 문자 받았는데 대응 방법 있을까요",
            "@채무자대리인 제도 신청하려고요. 협박 문자 캡처 다 해뒀어요",
            "그 사람이 {rel} 회사까지 찾아갔대요. 어떻게 막죠?",
            "대출 받아서라도 갚으라고 계속 연락 와요 ㅠ 이거 신고 돼요?",
            "검찰이라면서 전화 왔는데 보이스피싱 맞지?",
            "가만 안 둔다고 문자가 왔는데 캡처해서 경찰서 가져가면 되나?",
            "{name}{이/가} 돈 빌려준 사람한테 협박당하고 있대. 도와줄 방법 없을까",
            "'몸으로 갚으라'는 말까지 들었어요. 성희롱으로 신고 가능할까요?",
        ],
        "negation": [
            "{wplace}에 알릴 생각 없어. 그냥 대화로 풀자",
            "{rel}한테는 말 안 할게. 걱정하지 마",
            "@부모님께 연락드릴 일은 없을 거예요",
            "대출까지 받아서 갚으라는 말 아니야. 천천히 해",
            "절대 찾아가거나 그러지 않아. 연락만 받아줘",
            "경찰이니 고소니 그런 거 할 생각 전혀 없어",
            "{platform}에 올리거나 그런 짓 안 해. 나 그런 사람 아니야",
            "너한테 욕할 생각 없어. 그냥 답답해서 그래",
            "사채는 절대 쓰지 마. 천천히 갚아도 돼",
            "카드론 같은 거 받지 말고 되는 만큼만 보내",
            "너네 {rel}한테 받을 생각 없어. 너랑 나 사이 일이잖아",
            "협박하는 거 아니야. 언제 줄 수 있는지만 알려줘",
            "압류니 뭐니 그런 얘기 하려는 거 아니고 그냥 확인차 연락했어",
            "@가족분들께 연락드리는 일은 절대 없을 겁니다",
            "아무한테도 말 안 했어. 우리끼리 해결하자",
            "@직장에 연락하거나 하지 않겠습니다. 일정만 조율해 주세요",
            "돈 때문에 너랑 싸우고 싶지 않아. 천천히 얘기하자",
            "빚 때문에 다른 데서 또 빌리지는 마. 그럼 더 힘들어져",
        ],
        "hyperbole": [
            "배고파 죽겠다[| ㅠㅠ| 밥 먹자]",
            "죽을 만큼 피곤[해|하다|함]",
            "더워 죽겠어 [진짜|ㅠㅠ|에어컨 틀자]",
            "웃겨 죽겠네 ㅋㅋ[ㅋ|]",
            "{name} 보고 싶어 죽겠어",
            "과제 때문에 죽을 것 같아",
            "이 드라마 [진짜 |]미쳤다",
            "개웃겨 ㅋㅋㅋ",
            "오늘 업무량 살인적이다",
            "이 집 {food} 미쳤음",
            "다리 아파 죽는 줄 알았어",
            "심장 터질 뻔했어 ㅋㅋ",
            "졸려 죽겠다",
            "엄마한테 혼나서 죽을 뻔 ㅋㅋ",
            "{food} 개맛있다",
            "와 오늘 날씨 미쳤다 너무 좋아",
            "출근하기 싫어 죽겠다",
            "야근 3일째 사람 잡네",
            "이 노래 [미쳤어|개좋아] 들어봐",
            "{food} 먹고 싶어서 미치겠다",
            "추워서 얼어 죽는 줄",
            "이번 주 일정 진짜 사람 죽이네",
            "궁금해 죽겠네 빨리 말해줘",
        ],
        "banter": [
            "늦으면 너 오늘 {food} 사는 거다 ㅋㅋ",
            "스포하면 가만 안 둔다 ㅋㅋㅋ",
            "마지막 {food} 먹으면 죽는다 ㅋㅋ",
            "야 너 또 지각이냐 ㅋㅋ 커피 쏴라",
            "{congrats}!! 오늘 [술|밥] 내가 산다",
            "너 진짜 천재 아니냐 ㅋㅋ",
            "너 오늘 좀 멋있다? ㅋㅋ",
            "이번에도 지면 평생 놀린다 ㅋㅋ",
            "게임 또 졌냐 ㅋㅋ 연습 좀 해라",
            "너 어제 자는 사진 단톡방에 올린다? ㅋㅋ",
            "너 그러다 {rel}한테 혼난다 ㅋㅋ",
            "두고 봐라 다음 판에 복수한다 ㅋㅋ",
            "바보야 우산 또 두고 갔지 ㅋㅋ",
            "너 내 케이크 먹었지? 각오해라 ㅋㅋ",
        ],
        "borrower": [
            "@혹시 다음 주까지 미뤄도 될까요?",
            "이번 달은 {amt}만 먼저 보내도 될까?",
            "@이자는 어떻게 계산하면 될까요?",
            "나머지는 {date}에 보낼게 미안해 ㅠㅠ",
            "{rel}한테 빌려서 갚을게. 조금만 기다려줘",
            "@카드론 받아서라도 갚을게요 걱정 마세요",
            "진짜 미안해. 월급 들어오면 바로 보낼게",
            "@혹시 분할로 갚아도 될까요? 매달 {amt}씩이요",
            "계좌번호 다시 알려줄래? {bank} 맞지?",
            "연락 늦어서 미안. 요즘 일이 너무 바빴어",
            "@차용증 한 부 더 써드릴까요?",
            "이번 주에 {amt} 보내고 다음 달에 나머지 보낼게",
            "알바비 들어오면 바로 보낼게 ㅠㅠ 조금만",
            "{date}까지 꼭 보낼게 약속할게",
            "@죄송합니다. {date}까지는 꼭 정리하겠습니다",
            "은행 대출 승인 나면 그걸로 바로 갚을게",
        ],
        "news": [
            "뉴스 봤어? 불법 추심업자 [구속됐대|잡혔대]",
            "어제 드라마에서 검사가 압류 딱지 붙이는 장면 나왔는데 [대박|소름]",
            "요즘 검찰 사칭 보이스피싱 많대. {rel}한테도 말해줘",
            "법정 드라마 추천 좀 해줘",
            "경찰서 옆에 새로 생긴 {food} 집 맛있어",
            "아빠 경찰 퇴직하셨어. 이제 등산만 다니셔",
            "사촌형 이번에 검사 임용됐대 대박",
            "뉴스에서 보니까 불법 사채 이자가 연 수천 퍼센트래",
            "그 영화 마지막에 범인 체포되는 장면 소름이었어",
            "압류된 차 경매로 싸게 산다는 유튜브 봤는데 진짜야?",
            "요즘 전세사기 뉴스 너무 많다 조심해",
            "법원 경매 공부 시작했어 ㅋㅋ",
            "오늘 경찰 시험 결과 나와 ㅠㅠ 떨린다",
            "접촉사고 났는데 경찰 왔다 갔어. 다친 덴 없어",
            "그 예능에서 교도소 체험하는 거 봤어? ㅋㅋ",
        ],
        "other": [
            "회사에 말했더니 휴가 승인 났어!",
            "단톡방에 공지 올렸어 확인해줘",
            "{platform}에 사진 올렸어 봐봐",
            "{rel}한테 말했어 우리 결혼한다고 ㅎㅎ",
            "블라인드에 우리 회사 연봉 글 올라왔더라",
            "{rel}한테 안부 전해줘",
            "{rel}{이/가} 너 보고 싶대",
            "와이프가 저녁 먹으러 오래",
            "전세대출 금리 또 올랐대",
            "카드론 금리 너무 비싸더라 웬만하면 쓰지 마",
            "주택담보대출 갈아탈까 고민 중이야",
            "마이너스통장 비상용으로 하나 만들었어",
            "몸 좀 챙겨 요즘 너무 무리하더라",
            "영수증 사진 보내줘 정산하게",
            "몸은 좀 괜찮아? 감기 다 나았어?",
            "오늘 [옷 |]예쁘다 ㅎㅎ",
            "영통하자 {kid} 보여줘",
            "샤워하고 전화할게",
            "침대 새로 샀는데 완전 푹신해",
            "이번 가족여행 숙소 호텔로 잡았어",
            "내일 {wplace} 앞으로 데리러 갈게",
            "집 앞이야 나와 ㅎㅎ",
            "주소 보내줘 택배 보낼게",
            "찾아갈게 {meet}에서 보자",
            "그 영화 보면 후회해 ㅋㅋ 노잼이야",
            "세무서에서 연락 왔는데 환급금 있대",
            "시발점이 어디야? 버스 몇 번 타?",
            "수박 사 갈까?",
            "버스 놓쳤어 ㅠㅠ 10분 늦어",
            "부산 도착했어!",
            "새끼 고양이 입양했어 사진 보내줄게",
            "우리 강아지 새끼 낳았어!!",
            "노래방 가면 내 십팔번 불러줄게",
            "미친 듯이 공부했는데 시험 어렵더라",
            "배송 언제 와? 아직도 안 왔어",
            "{kid} 학교 학부모 단톡방 너무 시끄러워",
            "회사 사람들이랑 회식해. 늦을 듯",
            "팀장님이 오늘 칭찬해주셨어",
            "가만히 있으면 중간이라도 간다 ㅋㅋ",
            "죽이 되든 밥이 되든 일단 해보자",
            "죽 사다 줄까? 아프다며",
            "요즘 감기 유행이래요 몸조심하세요",
            "@부장님 오늘 몸이 안 좋아서 병가 내겠습니다",
            "헬스 PT 받는데 몸이 다 아파",
            "{rel} 생신이라 본가 가",
            "아빠가 용돈 보내주셨어 ㅎㅎ",
            "{kid} 학교 상담 가야 돼서 반차 냈어",
            "동생한테 {amt} 빌려줬는데 바로 갚더라 ㅋㅋ",
        ],
    },
    "en": {
        "reminder": [
            "hey, just a reminder about the {amt}, can you send it by {date}?",
            "no rush, but I do need the money back by {date}",
            "I really need that {amt} back this week, rent's due",
            "got it, thanks! 🙏",
            "sent you {amt} on {app}",
            "hey {name}, it's been a month. when can you pay me back?",
            "I'm not trying to pressure you, but we agreed on {date}",
            "can you at least send part of it? like {amt}?",
            "please let me know a date that works. I've asked three times now",
            "friendly reminder: {amt} due {date} 🙂",
            "I need the {amt} by {date}, no more extensions this time",
            "I've been patient, but I need a firm date from you",
            "received the {amt}, thank you!",
            "you still owe me {amt} from the trip btw",
            "just checking in about the loan. everything ok?",
            "@Hi {name}, this is a reminder that {amt} is due on {date}",
            "I'm serious this time. {amt} by {date}, please",
            "ok {amt} is fine for now, send the rest when you get paid",
        ],
        "lawful": [
            "I will file for a payment order if I don't hear back by {date}",
            "I'll take this to small claims court if we can't sort it out",
            "my lawyer will send a formal demand letter",
            "I have the IOU and the transfer records, so I'll go through the court if I have to",
            "once there's a judgment the court can enforce it. I hope it doesn't come to that",
            "I filed a claim in small claims court. you'll get a notice from the court",
            "I talked to a legal aid office, they said mediation is an option",
            "this is a civil matter, so I'll handle it through the proper legal process",
            "@I am sending a formal demand letter by certified mail",
            "I'd rather not sue you, but I will file a civil claim if nothing changes by {date}",
            "@If we cannot agree on a payment plan, I will seek a court order",
            "the court granted the payment order. you can still object within two weeks",
        ],
        "quoting": [
            "he said he would come to my {wplace}, what do I do",
            "she threatened to tell my boss about the loan, is that legal?",
            "the lender told me to take out a payday loan to pay him. is that allowed?",
            "got a text saying I'd be arrested for not paying. is that real?",
            "my ex said he'd post my debt on {platform} 😭",
            "someone called my {rel} asking for money I owe. can they do that?",
            "he keeps saying 'pay or you'll regret it'. should I go to the police?",
            "they said my house would be seized tomorrow, but I never got anything from a court",
            "the guy I owe asked me for nudes. I screenshotted it and reported him",
            "@I'm being harassed by a collector. How do I report it?",
            "a 'prosecutor' called about my loan. pretty sure it's a scam, right?",
            "my landlord said he'd break my legs lol, should I actually worry?",
        ],
        "negation": [
            "I'd never tell your {rel}",
            "not going to tell anyone about this, don't worry",
            "I won't post anything, I just want to talk",
            "don't borrow from anyone to pay me, seriously",
            "I'm not threatening you, I just need a date",
            "I'm not going to call your {work}, that's not who I am",
            "no one's going to jail over this lol, just pay when you can",
            "I'm not asking your family for anything. this is between us",
            "please don't take a payday loan for this. pay me slowly instead",
        ],
        "hyperbole": [
            "this deadline is killing me",
            "I'm dying to see you",
            "I could murder a burger right now",
            "ugh I'm so dead, forgot my homework",
            "my feet are killing me",
            "traffic was insane today",
            "this song is sick",
            "I'm starving to death lol",
            "that exam destroyed me",
            "I'm gonna die if I don't get coffee",
            "mom's going to kill me, I'm late again lol",
            "this {food} is to die for",
        ],
        "banter": [
            "if you spoil the finale I'll kill you lol",
            "you're such a nerd haha, {congrats}",
            "loser buys dinner 😂",
            "you owe me a beer for that one lol",
            "dude you're a genius",
            "I'm telling mom you ate the last slice lol",
            "watch out, I'm coming for your high score",
            "you're dead meat next round haha",
        ],
        "borrower": [
            "could I pay half now and half on the 25th?",
            "is it ok if I send it {date}?",
            "what's your {app} again?",
            "sorry I'm late with it. I'll send {amt} {date}",
            "my paycheck got delayed, can I have one more week?",
            "I'll borrow from my {rel} and pay you back, promise",
            "I'll put it on my credit card and send it tonight, don't worry",
        ],
        "news": [
            "did you see the news? they arrested a loan shark ring",
            "watching a courtroom drama, the prosecutor is so good",
            "police closed the road downtown, take another route",
            "my cousin just passed the bar exam!",
            "there's a new true crime podcast about debt collectors, it's wild",
            "apparently scammers are pretending to be prosecutors, tell your {rel}",
            "the news said illegal lenders charge like 1000% interest",
        ],
        "other": [
            "send me a pic of the receipt",
            "take care of your body, don't overwork",
            "I told my boss I'm taking Friday off",
            "posted the photos on {platform}!",
            "my {rel} says hi",
            "tell your {rel} happy birthday from me",
            "mortgage rates went up again",
            "thinking of refinancing my car loan",
            "the bus is late again",
            "can you grab some watermelon on the way?",
            "I'll come to your {wplace} to pick you up at 6",
            "I'm outside, come down 🙂",
            "she looked so pretty in that dress at the wedding",
            "I'll post the group photo in the group chat",
            "the hotel for the family trip is booked",
            "kill the lights when you leave",
            "our cat had kittens!!",
            "the police officer at the school talk was really nice",
            "I finally paid off my student loan!!",
            "heading to bed, big day tomorrow",
        ],
    },
}

CLEAN = {
    "ko": {
        "everyday": [
            "오늘 {time}에 {meet}에서 볼래?",
            "{food} 먹을래 {food2} 먹을래?",
            "나 지금 출발해. {time}까지 갈게",
            "비 온대 우산 챙겨",
            "{kid} 오늘 어린이집에서 열난대서 일찍 데리러 가",
            "주말에 {activity} 갈래?",
            "오늘 날씨 진짜 좋다",
            "퇴근했어? 고생했어",
            "@이번 주 {time} 회의 30분 미뤄졌대요",
            "@내일 회의 자료 메일로 보내드렸습니다",
            "@팀장님 오늘 반차 쓰겠습니다",
            "생일 축하해!! 🎂",
            "고마워 잘 먹을게 ㅎㅎ",
            "엄마 나 오늘 저녁 먹고 들어가",
            "아빠 택배 왔어요",
            "{kid} 숙제 봐줘야 돼서 좀 이따 전화할게",
            "ㅇㅋ {time}에 보자",
            "ㄱㅅㄱㅅ",
            "ㅇㅇ 알겠어",
            "ㄴㄴ 괜찮아",
            "ㅊㅋㅊㅋ",
            "ㅎㅎ 잘 자",
            "헐 대박",
            "넷플 뭐 볼까? 추천 좀",
            "어제 보낸 사진 봤어? ㅋㅋ",
            "{meet} 새로 생긴 카페 가봤어?",
            "다음 주에 이사해서 정신없어 ㅠㅠ",
            "운동 끝! 오늘 5km 뛰었다",
            "집들이 언제 해? {food} 사갈게",
            "나 감기 걸렸나 봐 목 아파",
            "회식 장소 {meet} 근처로 잡았어",
            "@선배님 점심 같이 드실래요?",
            "@과장님 보고서 수정본 올렸습니다",
            "오늘 야근이야 먼저 자",
            "{food} 시켰어 같이 먹자",
            "주차 어디 했어?",
            "기차표 예매했어? 추석 때 내려갈 거지",
            "할머니 댁 언제 갈까?",
            "우리 여행 {date}에 가는 거 맞지?",
            "{date}에 {meet}에서 {activity} 가자",
            "계좌로 회비 {amt} 보냈어",
            "더치페이하자 {app}{으로/로} {amt}씩 보내줘",
            "{bank} 앱 또 점검이래 짜증나",
            "월급 들어왔다 ㅎㅎ 오늘 {food} 쏜다",
            "토스 행운퀴즈 답 뭐야?",
            "{amt} 적금 만기됐어 ㅎㅎ",
            "{kid} 학원비 {amt}{이나/나} 올랐어 ㅠ",
            "이번 달 관리비 {amt} 나왔네",
            "중고거래로 {amt}에 팔았어 ㅋㅋ",
            "[아|어] 오늘 {food} 진짜 맛있었다",
            "{name}{이/가} 다음 달에 결혼한대!",
            "{kid} 오늘 처음으로 걸었어 ㅠㅠ 감동",
            "내일 {time}에 병원 예약했어",
            "비행기 {date} 출발이야. 공항 같이 갈래?",
            "카톡 프사 바꿨네? 잘 나왔다",
            "@오늘 {time}까지 자료 정리해서 공유드리겠습니다",
            "{rel} 오늘 생신이야 전화 드려",
            "[엄마|아빠] {food} 먹고 싶어",
            "버스 타고 가는 중 ㅎㅎ 곧 도착",
            "오늘 미세먼지 심하대 마스크 챙겨",
            "오늘 {kid} 운동회라 회사 쉬어",
            "[점심|저녁] 뭐 먹었어?",
            "{food} 맛집 찾았어 다음에 같이 가자",
            "헬스장 등록했어 이번엔 진짜 꾸준히 할 거야",
            "강아지 산책시키고 올게",
            "고양이가 또 키보드 위에 올라갔어 ㅋㅋ",
            "에어컨 고장났어 ㅠㅠ 기사님 {date}에 오신대",
            "이번 주말에 {rel} 댁 가기로 했어",
            "{rel}{이/가} {food} 해주셨어 ㅎㅎ",
            "{rel} 생일 선물 뭐 사지?",
            "회사 근처에 {food} 집 새로 생겼대",
            "{wplace} 끝나고 {meet}에서 보자",
            "시험 끝났다!! 오늘 놀자",
            "과제 제출했어? 마감 {date}까지래",
            "@교수님 과제 제출했습니다. 확인 부탁드립니다",
            "수강신청 망했어 ㅠㅠ",
            "알바 끝나고 전화할게",
            "택배 {meet}에 맡겨놨대",
            "{platform}에 올린 사진 좋아요 눌러줘 ㅋㅋ",
            "단톡방 공지 봤어? {date}에 모임이래",
            "@내일 {time} 미팅 장소 변경되었습니다",
            "{kid} 유치원 {date}부터 방학이래",
            "{kid} 감기 다 나았어 걱정해줘서 고마워",
            "이번 여름휴가 어디로 가? 우린 제주도",
            "캠핑 장비 빌려줄 수 있어? {date}에 돌려줄게",
            "우산 빌려줘서 고마워 내일 돌려줄게",
            "책 빌려간 거 다 읽었어? 천천히 줘",
            "차 빌려줘서 고마워 기름 채워놨어",
            "{name}{이/가} 결혼식 축가 불러달래 ㅋㅋ",
            "날씨 추워졌다 옷 따뜻하게 입어",
            "{date} 동창회 갈 거야?",
            "넷플에 새로 나온 드라마 봤어? 완전 재밌어",
            "야구 보러 갈래? 표 두 장 생겼어",
            "노트북 고장나서 AS 맡겼어",
            "오늘 {meet} 사람 진짜 많다",
            "이사 도와줘서 고마워 ㅠㅠ 다음에 {food} 살게",
            "다이어트 중인데 {food} 너무 땡긴다",
            "주식 또 떨어졌어 ㅋㅋ 그냥 적금이나 할걸",
            "연말정산 서류 다 냈어?",
            "청첩장 받았어? {name} 결혼식 {date}{이래/래}",
            "장례식장 다녀왔어. 마음이 안 좋네",
            "@삼가 고인의 명복을 빕니다",
            "{kid} 피아노 학원 끝나면 데리러 가줄 수 있어?",
            "오늘 {food} 레시피 따라 해봤는데 대성공",
            "영화 예매했어 {time} 거야",
            "{meet} 가는 버스 몇 번이야?",
            "KTX 표 끊었어. {date} 오전 거",
            "오늘 미팅 자료 share 해줄 수 있어?",
            "주말에 brunch 할래? {meet} 쪽으로",
            "퇴근하고 gym 갈 거야 ㅎㅎ",
        ],
    },
    "en": {
        "everyday": [
            "wanna grab {food} at {time}?",
            "running 10 min late, sorry!",
            "did you see the game last night?",
            "it's pouring here, bring an umbrella",
            "happy birthday!! 🎉",
            "thanks for dinner, it was great",
            "can you pick up {kid} from school today?",
            "what time is the meeting tomorrow?",
            "@I sent the slides to your email",
            "let's do {activity} this weekend",
            "miss you! call me when you're free",
            "the kids are finally asleep lol",
            "I'm at the store, need anything?",
            "good luck on your interview today!",
            "how was the trip?",
            "ok see you at {time}",
            "lol that video was hilarious",
            "just landed 🛬",
            "split the bill? send me {amt} on {app}",
            "paid the rent, sending you my half",
            "my paycheck came in, dinner's on me",
            "the bank app is down again ugh",
            "any netflix recommendations?",
            "I'm making {food} tonight, come over",
            "a new cafe opened near {meet}, wanna try it?",
            "traffic is bad, taking the bus",
            "can you send me the photos from yesterday?",
            "heading to the gym, talk later",
            "Mom, I'll be home by {time}",
            "dad, the package arrived",
            "we should plan the reunion for {date}",
            "got my first paycheck!! 🎉",
            "thanks for covering lunch, I'll {app} you {amt}",
            "{kid} just said her first word!!",
            "are we still on for {activity} {date}?",
            "@Please find the updated report attached",
            "{name} is getting married next month!",
            "can't wait for the weekend",
            "forgot my charger, can I borrow yours?",
            "omg the concert was amazing",
            "are you free {date}? wanna do {activity}?",
            "{name} says the party starts at {time}",
            "I'm getting {food} for lunch, want some?",
            "happy anniversary you two ❤️",
            "can you water my plants while I'm away {date}?",
            "the {kid} want {food} again lol",
            "sent you the address, see you at {meet}",
            "my flight's {date}, can you drive me to the airport?",
            "what are you up to {date}?",
            "just finished my shift, so tired",
            "the dog ate my sock again lol",
            "did you water the plants?",
            "my {rel} is visiting {date}, wanna come for dinner?",
            "tell {name} I said congrats!",
            "I'm near {meet}, where are you?",
            "can I borrow your charger? I'll give it back {date}",
            "thanks for lending me the car, I filled up the tank",
            "exam finally over 🎉",
            "did you submit the assignment? it's due {date}",
            "group project meeting at {time} in the library",
            "my boss let us leave early today 🙌",
            "new episode drops {date}, no spoilers!!",
            "we're out of milk, can you grab some?",
            "the baby finally slept through the night",
            "so sorry for your loss, thinking of you",
            "flight delayed again ugh",
            "wanna split an uber to {meet}?",
            "the wifi at the office is so slow today",
        ],
    },
}

# Hand-written lines: (text, labels, lang, kind).
WRITTEN = [
    # threat
    ("너 요즘 퇴근 몇 시에 하는지 다 알아. 오늘 회사 앞에서 기다릴게. 돈 들고 나와", ["threat"], "ko", "positive"),
    ("웃지 마라. 지금 장난하는 거 아니니까. 다음 주까지 200 안 보내면 너 다리부터 부러진다", ["threat"], "ko", "positive"),
    ("언제까지 피할 수 있을 것 같아? 니 동선 다 보고 있어", ["threat"], "ko", "positive"),
    ("오늘도 씹네? 좋아 내가 직접 간다. 문 안 열면 부숴서라도 들어간다", ["threat"], "ko", "positive"),
    ("I've been patient for six months. Next time you see me it won't be a text", ["threat"], "en", "positive"),
    ("nice apartment btw. would be a shame if something happened to it before you pay me", ["threat"], "en", "positive"),
    # disclosure
    ("니 와이프는 니가 나한테 500 빌린 거 모르지? 금요일까지 안 보내면 알게 될 거야", ["disclosure_threat"], "ko", "positive"),
    ("동창회 다음 주잖아. 거기서 다들 앞에서 얘기해줄까? 너 돈 안 갚는다고", ["disclosure_threat"], "ko", "positive"),
    ("너 회사 홈페이지에 대표 메일 있더라. 캡처 다 정리해놨어", ["disclosure_threat"], "ko", "positive"),
    ("your LinkedIn says you're a 'financial advisor' lol. want your clients to see our chat?", ["disclosure_threat"], "en", "positive"),
    ("I found your mom on Facebook. Should I send her the screenshots or will you pay?", ["disclosure_threat"], "en", "positive"),
    # false legal
    ("나 변호사 친구한테 물어봤는데 너 이거 사기라서 무조건 구속이래. 경찰서 가기 싫으면 내일까지 보내", ["false_legal_threat"], "ko", "positive"),
    ("[법원통지] 귀하의 채무불이행으로 금일 18시 압류 집행 예정. 문의는 이 번호로", ["false_legal_threat"], "ko", "positive"),
    ("서울중앙지검 수사관입니다 고객님 명의 계좌가 채무 사건에 연루되어 연락드렸습니다 오늘 중 정리 안 하시면 구속 수사 진행됩니다", ["false_legal_threat"], "ko", "positive"),
    ("Just so you know, skipping a debt is theft. I've got a friend at the precinct and they'll pick you up", ["false_legal_threat"], "en", "positive"),
    ("NOTICE: your property at this address is scheduled for seizure tomorrow at 9am due to unpaid personal loan", ["false_legal_threat"], "en", "positive"),
    # coerced
    ("요즘 대출 앱 많잖아 핀다 같은 거. 한도 조회해보고 나오는 대로 받아서 오늘 보내", ["coerced_borrowing"], "ko", "positive"),
    ("너 어머니 명의로 카드 하나 만들어서 현금서비스 받아. 그럼 되잖아", ["coerced_borrowing"], "ko", "positive"),
    ("니 월급으로 안 되면 카드론이든 뭐든 돌려서라도 맞춰. 난 이번 달에 꼭 받아야 돼", ["coerced_borrowing"], "ko", "positive"),
    ("you've got good credit, just take a personal loan and be done with it. I need the money this week", ["coerced_borrowing"], "en", "positive"),
    ("Your brother has money right? borrow it from him and pay me tomorrow", ["coerced_borrowing"], "en", "positive"),
    # third party
    ("어머님 안녕하세요. 아드님이 제 돈을 안 갚고 연락이 안 돼서요. 어머님이 대신 정리해 주시면 좋겠습니다", ["third_party_demand"], "ko", "positive"),
    ("민수 회사 동기시죠? 민수가 요즘 어디 사는지 아시면 좀 알려주세요. 급한 돈 문제라서요", ["third_party_demand"], "ko", "positive"),
    ("니가 안 갚으면 니 형이 갚아야지. 형 번호 알려줘", ["third_party_demand"], "ko", "positive"),
    ("Hi Mrs. Lee, your daughter borrowed 2 million won from me and stopped answering. Can you pay it for her?", ["third_party_demand"], "en", "positive"),
    ("you're his roommate, you must know when he comes home. tell me or cover his rent money yourself", ["third_party_demand"], "en", "positive"),
    # insult
    ("아 씨발 오늘 진짜 되는 일이 하나도 없네", ["insult"], "ko", "positive"),
    ("그 새끼 또 돈 빌려달래 ㅋㅋ 미친놈 아니야?", ["insult"], "ko", "positive"),
    ("야 이 미친놈아 ㅋㅋ 축하해", ["insult"], "ko", "positive"),
    ("존나 웃기네 ㅋㅋㅋ 너 진짜 레전드다", ["insult"], "ko", "positive"),
    ("병신같이 또 계좌번호 틀리게 보냈어 ㅠㅠ", ["insult"], "ko", "positive"),
    ("lmao you absolute dumbass, congrats on getting in!!", ["insult"], "en", "positive"),
    ("my landlord is such a fucking prick, he raised the rent again", ["insult"], "en", "positive"),
    ("shit, I forgot to transfer the money, sorry", ["insult"], "en", "positive"),
    # sexual
    ("돈 얘기는 됐고 오늘 저녁에 모텔 잡아놨어. 오면 반은 까줄게", ["sexual"], "ko", "positive"),
    ("너 예전에 보낸 사진 아직 있는데 ㅎㅎ 새로 몇 장 더 보내주면 한 달 더 기다려줄게", ["sexual"], "ko", "positive"),
    ("we both know how you can pay this off. come by after 10, wear the red dress", ["sexual"], "en", "positive"),
    # multi-label
    ("씨발 니 엄마한테 가서 받아낼 거야 각오해", ["third_party_demand", "insult", "threat"], "ko", "positive"),
    ("개새끼야 니 회사에 다 알리고 찾아가서 죽여버린다", ["threat", "disclosure_threat", "insult"], "ko", "positive"),
    ("경찰에 넘기기 전에 카드론이라도 받아서 갚아라 병신아", ["false_legal_threat", "coerced_borrowing", "insult"], "ko", "positive"),
    ("몸으로 갚든가 아니면 회사에 다 뿌린다", ["disclosure_threat", "sexual"], "ko", "positive"),
    ("pay me you fucking deadbeat or I tell your wife and then I come for you", ["threat", "disclosure_threat", "insult"], "en", "positive"),
    ("borrow from your parents or I'll make them pay, your choice", ["coerced_borrowing", "third_party_demand"], "en", "positive"),
    ("send nudes or I post your debt on Instagram, bitch", ["disclosure_threat", "insult", "sexual"], "en", "positive"),
    # hard negatives
    ("엊그제 빌려준 거 천천히 줘도 돼. 대신 이번 달 안에는 부탁해 ㅎㅎ", [], "ko", "hard_negative"),
    ("채권자한테 '회사에 알린다'는 카톡 받았는데 이거 채권추심법 위반 맞나요?", [], "ko", "hard_negative"),
    ("어제 그 사람이 우리 엄마한테까지 전화했대. 너무 화나는데 경찰에 신고하려고", [], "ko", "hard_negative"),
    ("말했지만 난 절대 네 가족한테 연락 안 해. 대신 약속은 지켜줘", [], "ko", "hard_negative"),
    ("판결 나왔으니까 법원에 강제집행 신청할게. 그 전에 입금하면 취하할게", [], "ko", "hard_negative"),
    ("그 드라마에서 사채업자가 '몸으로 갚아'라고 하는 장면 너무 불편했어", [], "ko", "hard_negative"),
    ("오늘 회의 진짜 사람 잡는다 ㅋㅋ 3시간째야", [], "ko", "hard_negative"),
    ("배고파서 쓰러질 것 같아 ㅠㅠ 뭐 좀 먹자", [], "ko", "hard_negative"),
    ("우리 팀장님 진짜 천사야 오늘 야근 빼주셨어", [], "ko", "hard_negative"),
    ("my sister said the guy she owes threatened to show up at her work. how do we stop this?", [], "en", "hard_negative"),
    ("Per our agreement, the remaining $400 is due on the 30th. Let me know if anything changes", [], "en", "hard_negative"),
    ("I'm not going to post anything or call anyone, I just want my money back by the end of the month", [], "en", "hard_negative"),
    ("I got a judgment last week, so I'll ask the court to garnish wages if we can't agree on a plan", [], "en", "hard_negative"),
    ("lol this spicy ramen is killing me 🔥", [], "en", "hard_negative"),
    # clean
    ("이번 주 토요일 우리 애 돌잔치야! 시간 되면 와줘 ㅎㅎ", [], "ko", "clean"),
    ("오늘 회의 때 말한 자료 공유 폴더에 올려놨어요", [], "ko", "clean"),
    ("meeting moved to 3, grab me a coffee on your way? ☕", [], "en", "clean"),
    ("오늘 lunch 뭐 먹지? 회사 앞 새로 생긴 데 가볼래?", [], "ko", "clean"),
    ("ㅋㅋㅋㅋ 아 진짜 웃겨 그 영상 어디서 찾았어", [], "ko", "clean"),
]

# --- rendering -------------------------------------------------------------------------------

_ALT = re.compile(r"\[([^\[\]]*)\]")
_SLOT = re.compile(r"\{([^{}]+)\}")
_HANGUL_FIRST, _HANGUL_LAST = 0xAC00, 0xD7A3
# Final consonant of each digit's Korean reading (영 일 이 삼 사 오 육 칠 팔 구): 0 = none,
# 8 = ㄹ, other = another consonant; used for particles after numbers.
_DIGIT_TAIL = {"0": 21, "1": 8, "2": 0, "3": 16, "4": 0, "5": 0, "6": 1, "7": 8, "8": 8, "9": 0}


def _tail(ch):
    """Final consonant index of a syllable (0 none, 8 ㄹ), or None if it can't be told."""
    c = ord(ch)
    if _HANGUL_FIRST <= c <= _HANGUL_LAST:
        return (c - _HANGUL_FIRST) % 28
    if ch in _DIGIT_TAIL:
        return _DIGIT_TAIL[ch]
    return None


def _particle(before, pair):
    """Korean particle pair "A/B" chosen by the preceding word's last syllable."""
    with_tail, without = pair.split("/", 1)
    tail = _tail(before[-1]) if before else None
    if tail is None:
        return without
    if with_tail == "으로":
        return without if tail in (0, 8) else with_tail
    return with_tail if tail else without


def render(template, rng, lang):
    """One message from a template: alternatives chosen, slots filled, particles agreed."""
    text = _ALT.sub(lambda m: rng.choice(m.group(1).split("|")), template)
    slots = SLOTS[lang]
    chosen = {}
    out = []
    at = 0
    for m in _SLOT.finditer(text):
        out.append(text[at:m.start()])
        key = m.group(1)
        if "/" in key:
            out.append(_particle("".join(out), key))
        else:
            if key not in chosen:
                base = key.rstrip("0123456789")
                values = slots[base]
                value = rng.choice(values)
                # A second slot of the same kind ({food2}) differs from the first.
                for _ in range(5):
                    if value not in chosen.values():
                        break
                    value = rng.choice(values)
                chosen[key] = value
            out.append(chosen[key])
        at = m.end()
    out.append(text[at:])
    return "".join(out)


def variability(template):
    """Whether a template has slots or alternatives (else only openers/closers vary it)."""
    return bool(_ALT.search(template) or any("/" not in k for k in _SLOT.findall(template)))


OPENERS = {
    ("ko", False): ["야 ", "{name}{아/야} ", "아 ", "근데 ", "저기 ", "아니 ", "진짜 ", "솔직히 ", "어 ", "있잖아 "],
    ("ko", True): ["안녕하세요. ", "{name}님, ", "{name} 씨, ", "저기요 ", "실례합니다. "],
    ("en", False): ["hey ", "yo ", "{name}, ", "look, ", "ok so ", "bro ", "listen, ", "dude ", "hey {name}, "],
    ("en", True): ["Hi {name}, ", "Hello, ", "Dear {name}, ", "Good morning. "],
}
CLOSERS = {
    ("ko", False): [" ㅋㅋ", " ㅋㅋㅋ", " ㅠㅠ", " ㅎㅎ", "..", "!", " 😅", " 🙏", " 😡", " ㅡㅡ", " 진짜", " 😂", "~"],
    ("ko", True): [".", " 감사합니다.", " 🙏", "..", " 부탁드립니다."],
    ("en", False): [" lol", " 😤", " 🙏", "!!", "...", " 😂", " rn", " fr", " 🙄", " smh"],
    ("en", True): [".", " Thank you.", " Regards.", " 🙏"],
}


def _ko_typos(rng, text):
    """Messenger-style Korean: ㅆ→ㅅ, 요→여, a dropped space, doubled ㅋ."""
    chars = list(text)
    roll = rng.random()
    if roll < 0.35:
        for k, ch in enumerate(chars):
            c = ord(ch)
            if _HANGUL_FIRST <= c <= _HANGUL_LAST and (c - _HANGUL_FIRST) % 28 == 20 and rng.random() < 0.7:
                chars[k] = chr(c - 1)  # ㅆ tail → ㅅ tail: 했어 → 햇어
    elif roll < 0.6:
        text = "".join(chars)
        if text.endswith("요"):
            return text[:-1] + "여"
        return re.sub(r"요([.!?]?)$", r"여\1", text)
    elif roll < 0.85:
        spaces = [k for k, ch in enumerate(chars) if ch == " "]
        if spaces:
            del chars[rng.choice(spaces)]
    else:
        return "".join(chars).replace("ㅋㅋ", "ㅋㅋㅋㅋ").replace("ㅠㅠ", "ㅠㅠㅠ")
    return "".join(chars)


_EN_CASUAL = [
    (r"\byou\b", "u"), (r"\byour\b", "ur"), (r"\bplease\b", "pls"), (r"\btomorrow\b", "tmrw"),
    (r"\bgoing to\b", "gonna"), (r"\bright now\b", "rn"), (r"'", ""), (r"\bthough\b", "tho"),
    (r"\bbecause\b", "cuz"), (r"\bokay\b", "ok"),
]


def _en_casual(rng, text):
    """Messenger-style English: lower case, u/ur/pls, dropped apostrophes."""
    if rng.random() < 0.5:
        text = text.lower()
    for pattern, to in _EN_CASUAL:
        if rng.random() < 0.3:
            text = re.sub(pattern, to, text)
    return text


GREETING = re.compile(r"(hi|hello|dear|hey|yo|안녕|어머님|아버님|저기요)\b", re.I)


def _ends_in_mark(text):
    """Whether a message already ends in laughter, tears or an emoji (no closer then)."""
    last = text[-1:]
    return bool(last) and (0x3131 <= ord(last) <= 0x318E or ord(last) > 0xFFFF or last in "~^"
                           or text.lower().endswith(("lol", "haha")))


def message(rng, template, lang, opener_p=0.3, closer_p=0.3, typo_p=0.15):
    """A chat message from a template, with the same surface noise for every kind."""
    formal = template.startswith("@")
    core = render(template.lstrip("@"), rng, lang)
    if rng.random() < opener_p and not GREETING.match(core) and not template.lstrip("@").startswith("{name"):
        opener = render(rng.choice(OPENERS[(lang, formal)]), rng, lang)
        if lang == "en" and core[:1].isupper() and not core.startswith("I "):
            core = core[0].lower() + core[1:]
        core = opener + core
    if rng.random() < closer_p and not _ends_in_mark(core):
        closer = rng.choice(CLOSERS[(lang, formal)])
        if closer[:1] in ".!~" or closer.startswith(".."):
            core = core.rstrip(".!?")
        core += closer
    if not formal and rng.random() < typo_p:
        core = _ko_typos(rng, core) if lang == "ko" else _en_casual(rng, core)
    return tidy(core)


def tidy(text):
    text = re.sub(r"[ \t]+", " ", text).strip()
    return text.replace(" .", ".").replace(" ,", ",").replace(" ?", "?")



# --- obfuscation -----------------------------------------------------------------------------

ZERO_WIDTH = ["\u200b", "\u200b", "\u200c", "\u2060", "\ufeff"]

# Word → disguised spellings seen in real chat. Longest keys are tried first.
OBF_KO = {
    "시발": ["ㅅㅂ", "씨1발", "시bal", "쉬발", "싀발", "ㅆㅂ", "시8", "시 발", "시.발"],
    "씨발": ["ㅆㅂ", "씨1발", "씌발", "씨bal", "씨8", "ㅅㅂ", "씨 발", "씨_발"],
    "씨팔": ["ㅆㅍ", "씨8", "씨파", "씨 팔"],
    "존나": ["ㅈㄴ", "졸라", "존1나", "조낸", "존.나"],
    "좆": ["ㅈ", "좃", "졷"],
    "병신": ["ㅂㅅ", "ㅄ", "병1신", "븅신", "병sin", "병 신", "병.신"],
    "븅신": ["ㅂㅅ", "븅1신", "ㅄ"],
    "개새끼": ["개ㅅㄲ", "개색기", "개쉐끼", "개새1끼", "개섀끼", "ㄱㅅㄲ", "개 새 끼", "개.새.끼"],
    "새끼": ["ㅅㄲ", "색기", "쉐끼", "새1끼", "섀끼", "새 끼"],
    "미친놈": ["ㅁㅊㄴ", "미친넘", "미1친놈", "밋친놈", "미.친.놈"],
    "미친년": ["ㅁㅊㄴ", "미친뇬", "미1친년", "미친 년"],
    "미친새끼": ["ㅁㅊㅅㄲ", "미친색기", "미친쉐끼"],
    "지랄": ["ㅈㄹ", "즤랄", "지1랄", "지.랄"],
    "꺼져": ["ㄲㅈ", "꺼.져", "ㄲ져"],
    "닥치고": ["ㄷㅊ고", "닥1치고", "닥.치.고"],
    "쓰레기": ["쓰렉", "ㅆㄹㄱ", "쓰1레기", "쓰.레.기"],
    "등신": ["ㄷㅅ", "등1신"],
    "또라이": ["ㄸㄹㅇ", "또1라이", "돌아이"],
    "씹새": ["ㅆㅅ", "씹쌔", "씹 새"],
    "죽여버": ["주겨버", "죽yeo버", "ㅈㅇ버", "죽1여버", "죽.여.버"],
    "죽여": ["주겨", "ㅈㅇ", "죽1여", "죽 여"],
    "죽는다": ["주근다", "죽는닼ㅋ", "ㅈㄴㄷ", "죽1는다"],
    "죽고": ["주꼬", "죽1고"],
    "찾아가": ["차자가", "찾아ga", "ㅊㅈㄱ", "찾1아가"],
    "가만 안": ["가만안", "ㄱㅁ 안", "가1만 안"],
    "패버린다": ["패버린닼ㅋ", "ㅍㅂㄹㄷ", "패버1린다"],
    "각오해": ["각오햏", "ㄱㅇㅎ", "각1오해"],
    "회사": ["회1사", "ㅎㅅ", "hoesa", "회샤"],
    "알린다": ["알린닼ㅋ", "알1린다", "ㅇㄹㄷ"],
    "다 말할": ["다말할", "다 말1할"],
    "단톡방": ["단톡", "ㄷㅌㅂ", "단1톡방"],
    "인스타": ["insta", "인1스타", "인스ta", "ㅇㅅㅌ"],
    "블라인드": ["블1라인드", "블라ind"],
    "압류": ["압1류", "아뷰", "ㅇㄹ", "압뉴"],
    "경찰": ["겅찰", "ㄱㅊ", "경1찰", "폴리스"],
    "구속": ["구1속", "ㄱㅅ", "구쏙"],
    "고소": ["고1소", "꼬소"],
    "감방": ["깜방", "감1방", "ㄱㅂ"],
    "체포": ["체1포", "ㅊㅍ"],
    "사기죄": ["사기쬐", "사1기죄", "ㅅㄱㅈ"],
    "카드론": ["카드ron", "카1드론", "ㅋㄷㄹ"],
    "대출": ["대1출", "ㄷㅊ", "데출", "대춯"],
    "사채": ["사1채", "ㅅㅊ", "사체"],
    "현금서비스": ["현서", "현금써비스", "현1금서비스"],
    "엄마": ["엄1마", "ㅇㅁ", "엄먀", "omma"],
    "부모님": ["ㅂㅁㄴ", "부1모님", "부모뉨"],
    "와이프": ["와1이프", "wife", "와잎"],
    "대신 갚": ["대신갚", "대1신 갚"],
    "몸으로": ["몸1으로", "ㅁㅇㄹ", "몸으루"],
    "가슴": ["ㄱㅅ", "가1슴", "가씀"],
    "벗은": ["벗1은", "벚은", "ㅂㅇ"],
    "섹스": ["ㅅㅅ", "쎅스", "섹1스", "s스"],
    "모텔": ["모1텔", "ㅁㅌ", "모뗄"],
    "알몸": ["알1몸", "ㅇㅁ"],
    "자위": ["ㅈㅇ", "자1위"],
}
OBF_EN = {
    "fucking": ["f*cking", "fking", "fuckin", "phucking", "f u c k i n g", "fuuucking"],
    "fuck": ["f*ck", "fck", "fuk", "phuck", "f**k", "fuuuck", "f u c k"],
    "shit": ["sh1t", "sh*t", "shiiit", "$hit", "sh!t"],
    "bitch": ["b!tch", "b1tch", "biatch", "b*tch", "biiitch"],
    "asshole": ["a$$hole", "@sshole", "a**hole", "assh0le", "azzhole"],
    "idiot": ["1d10t", "idi0t", "id!ot", "idiooot"],
    "moron": ["m0ron", "mor0n", "m*ron"],
    "bastard": ["b@stard", "bast4rd", "ba$tard"],
    "loser": ["l0ser", "lo$er", "looser"],
    "dumbass": ["dumb@ss", "dumbas$", "dumba$$"],
    "prick": ["pr1ck", "pr!ck"],
    "kill": ["k1ll", "ki11", "kiiill", "k!ll"],
    "dead": ["d3ad", "deaaad", "ded"],
    "hurt": ["hurrrt", "hvrt", "h*rt"],
    "regret": ["r3gret", "regreeet", "rgret"],
    "legs": ["l3gs", "leggs"],
    "police": ["p0lice", "po1ice", "p*lice", "5-0"],
    "arrested": ["arr3sted", "arre$ted", "arrestd"],
    "jail": ["j4il", "ja1l", "jai1"],
    "seized": ["s3ized", "seiz3d", "siezed"],
    "warrant": ["w4rrant", "warr@nt"],
    "prosecutor": ["pr0secutor", "prosecut0r"],
    "loan": ["l0an", "lo@n", "loaan"],
    "payday": ["pay-day", "p4yday"],
    "borrow": ["b0rrow", "borr0w"],
    "credit card": ["cr3dit card", "cc"],
    "boss": ["b0ss", "bo$$"],
    "Instagram": ["1nstagram", "insta", "IG"],
    "coworkers": ["c0workers", "co-workers"],
    "parents": ["p4rents", "parent$"],
    "mom": ["m0m", "mommm"],
    "wife": ["w1fe", "wiife"],
    "nudes": ["nud3s", "n00dz", "nudez", "noodz"],
    "naked": ["n4ked", "nak3d", "nekkid"],
    "sleep with": ["sl33p with", "sleeep with"],
    "body": ["b0dy", "bod"],
    "sex": ["s3x", "secks", "s*x"],
    "tits": ["t1ts", "titties"],
    "topless": ["t0pless", "top1ess"],
}
KO_ORDER = sorted(OBF_KO, key=len, reverse=True)
EN_ORDER = sorted(OBF_EN, key=len, reverse=True)
_SIMPLE_VOWEL = {2: 0, 3: 1, 6: 4, 7: 5, 9: 0, 10: 1, 11: 5, 12: 8, 14: 4, 15: 5, 16: 20, 17: 13, 19: 20}


def _stretch_ko(rng, text):
    """죽여버릴꺼야 → 죽여버릴꺼야아아아: repeat the last syllable's vowel."""
    spots = [k for k, ch in enumerate(text) if _HANGUL_FIRST <= ord(ch) <= _HANGUL_LAST]
    if not spots:
        return text
    k = spots[-1] if rng.random() < 0.7 else rng.choice(spots)
    vowel = ((ord(text[k]) - _HANGUL_FIRST) % 588) // 28
    vowel = _SIMPLE_VOWEL.get(vowel, vowel)
    ieung = chr(_HANGUL_FIRST + 11 * 588 + vowel * 28)
    return text[:k + 1] + ieung * rng.randint(2, 4) + text[k + 1:]


def _zero_width(rng, text):
    """A zero-width character inside one or two words."""
    for _ in range(rng.randint(1, 2)):
        spots = [k for k in range(1, len(text)) if not text[k - 1].isspace() and not text[k].isspace()]
        if not spots:
            break
        k = rng.choice(spots)
        text = text[:k] + rng.choice(ZERO_WIDTH) + text[k:]
    return text


def _fullwidth(word):
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in word)


def _stretch_en(rng, text):
    words = [m for m in re.finditer(r"[A-Za-z]{3,}", text)]
    if not words:
        return text
    m = rng.choice(words)
    vowels = [k for k in range(m.start(), m.end()) if text[k] in "aeiouy"]
    k = rng.choice(vowels) if vowels else m.end() - 1
    return text[:k + 1] + text[k] * rng.randint(2, 4) + text[k + 1:]


def _spaced_en(rng, word):
    return rng.choice([" ", ".", "-"]).join(word)


def obfuscate(rng, text, lang):
    """A disguised spelling of a positive message; the result differs after normalization."""
    target = normalized(text)
    for _ in range(12):
        out = text
        if lang == "ko":
            keys = [k for k in KO_ORDER if k in out]
            rng.shuffle(keys)
            for key in keys[: rng.randint(1, 2)]:
                if key in out:
                    out = out.replace(key, rng.choice(OBF_KO[key]), 1)
            if rng.random() < 0.2 or not keys:
                out = _stretch_ko(rng, out)
            if rng.random() < 0.2 or not keys:
                out = _zero_width(rng, out)
        else:
            keys = [k for k in EN_ORDER if re.search(r"\b" + re.escape(k) + r"\b", out, re.I)]
            rng.shuffle(keys)
            for key in keys[: rng.randint(1, 2)]:
                m = re.search(r"\b" + re.escape(key) + r"\b", out, re.I)
                if m:
                    style = rng.random()
                    if style < 0.65:
                        to = rng.choice(OBF_EN[key])
                    elif style < 0.8:
                        to = _fullwidth(m.group(0)) + rng.choice(["", "!", "?"])
                    else:
                        to = _spaced_en(rng, m.group(0))
                    out = out[: m.start()] + to + out[m.end():]
            if rng.random() < 0.2 or not keys:
                out = _stretch_en(rng, out)
            if rng.random() < 0.2 or not keys:
                out = _zero_width(rng, out)
        if out != text and normalized(out) != target:
            return out
    return None


def clean_style(rng, text, lang):
    """Stretched letters, zero-width characters or extra laughter on a clean message."""
    roll = rng.random()
    if roll < 0.4:
        out = _stretch_ko(rng, text) if lang == "ko" else _stretch_en(rng, text)
    elif roll < 0.7:
        out = _zero_width(rng, text)
    else:
        out = text + (" ㅋㅋㅋㅋㅋ" if lang == "ko" else " hahahaha")
    return out if normalized(out) != normalized(text) else None


# --- the pool --------------------------------------------------------------------------------


class Pool:
    """Examples keyed by exact text, in generation order; a repeat is refused."""

    def __init__(self):
        self.rows = {}
        self.conflicts = []

    def add(self, text, labels, lang, kind, source):
        text = tidy(text)
        labels = [c for c in CATEGORIES if c in labels]
        if not text:
            return False
        if text in self.rows:
            if self.rows[text]["labels"] != labels:
                self.conflicts.append((text, self.rows[text]["labels"], labels))
            return False
        self.rows[text] = {"text": text, "labels": labels, "lang": lang, "kind": kind, "source": source}
        return True


def entries_of(items):
    """(template, extra labels) pairs from a template list."""
    return [(e, ()) if isinstance(e, str) else (e[0], tuple(e[1])) for e in items]


def fill(pool, rng, entries, lang, target, kind, labels, source_prefix):
    """Round-robin over the templates until `target` new examples exist or all are used up.

    Each template gets about the same share: a template that only its openers and closers
    vary is capped at 3 examples, others at twice the even share.
    """
    if not entries:
        return 0
    share = math.ceil(target / len(entries))
    caps = [share * 2 if variability(t) else min(share, 3) for t, _ in entries]
    made = [0] * len(entries)
    exhausted = [False] * len(entries)
    total = 0
    while total < target:
        progress = False
        for k, (template, extra) in enumerate(entries):
            if total >= target:
                break
            if made[k] >= caps[k] or exhausted[k]:
                continue
            for _ in range(ATTEMPTS):
                text = message(rng, template, lang)
                if pool.add(text, list(labels) + list(extra), lang, kind, f"{source_prefix}:{k:02d}"):
                    made[k] += 1
                    total += 1
                    progress = True
                    break
            else:
                exhausted[k] = True
        if not progress:
            break
    return total


def _wrappable(template):
    return not template.startswith("@")


def compose_insult(pool, rng, category, lang, count):
    """An insult around another category's message: `category` + `insult`."""
    entries = [(t, e) for t, e in entries_of(POSITIVE[category][lang]) if _wrappable(t)]
    made = 0
    for turn in range(count * ATTEMPTS):
        if made >= count:
            break
        k = turn % len(entries) if turn < len(entries) else rng.randrange(len(entries))
        template, extra = entries[k]
        core = render(template, rng, lang)
        if rng.random() < 0.6:
            wrap = render(rng.choice(INSULT_PREFIX[lang]), rng, lang)
            if lang == "en" and core[:1].isupper() and not core.startswith("I "):
                core = core[0].lower() + core[1:]
            text = wrap + core
        else:
            text = core.rstrip(".!?") + render(rng.choice(INSULT_SUFFIX[lang]), rng, lang)
        if rng.random() < 0.12:
            text = _ko_typos(rng, text) if lang == "ko" else _en_casual(rng, text)
        labels = [category, "insult"] + list(extra)
        if pool.add(text, labels, lang, "positive", f"compose:insult+{category}_{lang}:{k:02d}"):
            made += 1
    return made


KO_JOIN = [". ", "\n", ". ", " "]
EN_JOIN = [". ", "\n", ". ", " - "]


def compose_pair(pool, rng, first, second, lang, count):
    """Two collection tactics in one message."""
    a = [(t, e) for t, e in entries_of(POSITIVE[first][lang]) if _wrappable(t)]
    b = [(t, e) for t, e in entries_of(POSITIVE[second][lang]) if _wrappable(t)]
    made = 0
    for _ in range(count * ATTEMPTS):
        if made >= count:
            break
        i, j = rng.randrange(len(a)), rng.randrange(len(b))
        (ta, ea), (tb, eb) = a[i], b[j]
        if rng.random() < 0.5:
            (ta, ea, i), (tb, eb, j) = (tb, eb, j), (ta, ea, i)
            pair_names = (second, first)
        else:
            pair_names = (first, second)
        one, two = render(ta, rng, lang), render(tb, rng, lang)
        joint = rng.choice(KO_JOIN if lang == "ko" else EN_JOIN)
        if joint != "\n":
            one = one.rstrip(".!?")
        if lang == "en" and joint != ". " and two[:1].isupper() and not two.startswith("I "):
            two = two[0].lower() + two[1:]
        text = one + joint + two
        labels = [first, second] + list(ea) + list(eb)
        source = f"compose:{pair_names[0]}+{pair_names[1]}_{lang}:{i:02d}+{j:02d}"
        if pool.add(text, labels, lang, "positive", source):
            made += 1
    return made


def generate():
    rng = random.Random(SEED)
    pool = Pool()

    for text, labels, lang, kind in WRITTEN:
        pool.add(text, labels, lang, kind, "written")

    shortfalls = []
    for category in CATEGORIES:
        for lang in ("ko", "en"):
            entries = entries_of(POSITIVE[category][lang])
            got = fill(pool, rng, entries, lang, POSITIVE_TARGET[lang], "positive", (category,),
                       f"template:{category}_{lang}")
            if got < POSITIVE_TARGET[lang]:
                shortfalls.append((category, lang, got))

    for category in CATEGORIES:
        if category == "insult":
            continue
        for lang in ("ko", "en"):
            compose_insult(pool, rng, category, lang, INSULT_WRAPS[lang])
    for (first, second), n_ko, n_en in PAIR_COMPOSITIONS:
        compose_pair(pool, rng, first, second, "ko", n_ko)
        compose_pair(pool, rng, first, second, "en", n_en)

    positives = [r for r in pool.rows.values() if r["kind"] == "positive"]
    picked = rng.sample(positives, round(len(positives) * OBFUSCATE_FRACTION))
    for row in picked:
        for _ in range(3):
            out = obfuscate(rng, row["text"], row["lang"])
            if out and pool.add(out, row["labels"], row["lang"], "obfuscated", "obfuscated:" + row["source"]):
                break

    for kind, families in (("hard_negative", HARD_NEGATIVE), ("clean", CLEAN)):
        for lang in ("ko", "en"):
            fams = families[lang]
            n_templates = sum(len(v) for v in fams.values())
            target = CLEAN_TARGET[(kind, lang)]
            for family, templates in fams.items():
                want = round(target * len(templates) / n_templates)
                fill(pool, rng, entries_of(templates), lang, want, kind, (),
                     f"template:{'hn' if kind == 'hard_negative' else 'clean'}_{family}_{lang}")

    cleans = [r for r in pool.rows.values() if not r["labels"]]
    for row in rng.sample(cleans, round(len(cleans) * CLEAN_STYLE_FRACTION)):
        out = clean_style(rng, row["text"], row["lang"])
        if out:
            pool.add(out, [], row["lang"], row["kind"], "styled:" + row["source"])

    return pool, shortfalls


# --- report and checks -----------------------------------------------------------------------


def report(rows):
    per_cat = Counter()
    per_cat_lang = Counter()
    per_cat_kind = Counter()
    for r in rows:
        for c in r["labels"]:
            per_cat[c] += 1
            per_cat_lang[(c, r["lang"])] += 1
            per_cat_kind[(c, r["kind"])] += 1
    kinds = Counter(r["kind"] for r in rows)
    langs = Counter(r["lang"] for r in rows)
    multi = sum(1 for r in rows if len(r["labels"]) > 1)
    lines = [f"{'category':<20}{'total':>7}{'ko':>7}{'en':>7}{'positive':>10}{'obfuscated':>12}"]
    for c in CATEGORIES:
        lines.append(f"{c:<20}{per_cat[c]:>7}{per_cat_lang[(c, 'ko')]:>7}{per_cat_lang[(c, 'en')]:>7}"
                     f"{per_cat_kind[(c, 'positive')]:>10}{per_cat_kind[(c, 'obfuscated')]:>12}")
    clean_lang = Counter((r["kind"], r["lang"]) for r in rows if not r["labels"])
    for k in ("clean", "hard_negative"):
        lines.append(f"{k:<20}{kinds[k]:>7}{clean_lang[(k, 'ko')]:>7}{clean_lang[(k, 'en')]:>7}")
    lines.append(f"examples {len(rows)}: ko {langs['ko']} ({langs['ko'] / len(rows):.1%}), en {langs['en']}; "
                 f"kinds {dict(sorted(kinds.items()))}; multi-label {multi}")
    return "\n".join(lines), per_cat, kinds, langs


def check(rows, norm_rows, pool, shortfalls):
    problems = []
    for category in CATEGORIES:
        for lang in ("ko", "en"):
            n = len(POSITIVE[category][lang])
            if n < MIN_TEMPLATES[lang]:
                problems.append(f"{category}/{lang}: {n} templates, need {MIN_TEMPLATES[lang]}")
    for name, data in (("exact texts", rows), ("normalized texts", norm_rows)):
        _, per_cat, kinds, langs = report(data)
        for c in CATEGORIES:
            if per_cat[c] < MIN_PER_CATEGORY:
                problems.append(f"{name}: {c} has {per_cat[c]}, need {MIN_PER_CATEGORY}")
        clean = kinds["clean"] + kinds["hard_negative"]
        if clean < MIN_CLEAN:
            problems.append(f"{name}: {clean} clean, need {MIN_CLEAN}")
        if kinds["hard_negative"] < MIN_HARD_NEGATIVE:
            problems.append(f"{name}: {kinds['hard_negative']} hard negatives, need {MIN_HARD_NEGATIVE}")
        share = langs["ko"] / len(data)
        if not KO_SHARE[0] <= share <= KO_SHARE[1]:
            problems.append(f"{name}: Korean share {share:.1%} outside {KO_SHARE}")
        labelled = kinds["positive"] + kinds["obfuscated"]
        obf = kinds["obfuscated"] / labelled
        if not OBFUSCATED_SHARE[0] <= obf <= OBFUSCATED_SHARE[1]:
            problems.append(f"{name}: obfuscated share {obf:.1%} of positives outside {OBFUSCATED_SHARE}")
    if pool.conflicts:
        problems.append(f"{len(pool.conflicts)} texts generated with two different label sets: "
                        f"{pool.conflicts[:3]}")
    for category, lang, got in shortfalls:
        problems.append(f"templates of {category}/{lang} ran out at {got} examples")
    assert not problems, "train pool below its minimums:\n  " + "\n  ".join(problems)


def main():
    pool, shortfalls = generate()
    rows = list(pool.rows.values())
    # What the model sees: texts equal after normalization count once (first one kept).
    seen = {}
    for r in rows:
        seen.setdefault(normalized(r["text"]), r)
    norm_rows = list(seen.values())

    with open(OUT, "w", encoding="utf-8", newline="\n") as f:
        for r in rows:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")

    table, _, _, _ = report(rows)
    print(f"wrote {len(rows)} examples to {OUT}")
    print(table)
    print(f"\nafter FEATURES.md normalization: {len(norm_rows)} distinct model inputs")
    print(report(norm_rows)[0])
    check(rows, norm_rows, pool, shortfalls)
    print("\nall minimums met")


if __name__ == "__main__":
    sys.exit(main())
