"""Real English words of the sample generator: one topical vocabulary per section and the
common words of news prose (private to :mod:`recommender.sources._sample_text`).

Written for this project (no corpus was downloaded): each section's words are what its news
is about, so a related list in the demo visibly shares a subject. A word belongs to the first
section that lists it; none is in scikit-learn's English stop list (the content model would
drop it).
"""

from __future__ import annotations

#: Words of each section, most characteristic first.
TOPICAL = {
    "politics": """
parliament election minister coalition opposition senate vote ballot campaign candidate
mayor governor party chancellor cabinet referendum lawmakers legislation amendment
constitution president premier speaker committee hearing inquiry impeachment scandal
lobbying caucus majority minority incumbent polls voters constituency district debate
manifesto reform veto ratify treaty sanctions diplomacy embassy ambassador summit delegation
envoy negotiations ceasefire resolution parliamentary electoral democratic republican
liberal conservative socialist populist nationalist centrist progressive rally protest
petition mandate coalitions ministry secretary deputy spokesperson administration
bureaucracy statute regulation ordinance decree judiciary supreme justices tribunal appeal
ruling verdict prosecutor indictment corruption bribery fraud ethics watchdog transparency
accountability oversight audit subpoena testimony whistleblower leak memo dossier briefing
press conference interview pledge promise agenda priorities platform primaries runoff
turnout recount registration redistricting gerrymandering suffrage citizens citizenship
immigration asylum refugees border visa deportation naturalization migrants integration
welfare pensions benefits healthcare education housing rents subsidies austerity spending
deficit borrowing taxpayers levy tariff trade alliance partners bloc union federal
regional municipal provincial councillors aldermen assembly chamber upper lower benches
backbench frontbench whip motion confidence resignation reshuffle appointment nomination
confirmation successor predecessor term incumbency dissent rebellion defection split
merger faction wing left right hardliners moderates reformers leadership contest
succession dynasty regime autocrat dictator junta coup uprising revolution martial curfew
censorship freedom rights liberties minorities equality discrimination gender diversity
inclusion activists civil society ngo unions strikes lobbyists donors funding donations
""",
    "economy": """
inflation rates central bank unemployment wages salaries recession recovery
stimulus gdp output productivity exports imports surplus deficit currency dollar euro
pound yen exchange stocks shares bonds yields investors markets trading traders index
dow nasdaq equities dividends earnings profits revenue losses quarterly forecast outlook
economists analysts consumer spending retail sales prices costs goods services supply
chain demand shortages logistics manufacturing factories orders shipments inventories
warehouses exporters importers tariffs quotas customs sanctions embargo commodities oil
gold copper wheat grain soybeans coffee cocoa sugar futures contracts hedge funds pension
assets wealth savings deposits loans mortgages credit debt lenders borrowers banks bankers
insolvency bankruptcy restructuring layoffs hiring payrolls employment labour productivity
startups venture capital entrepreneurs founders ipo listing valuation acquisition merger
takeover buyout shareholders boardroom chief executive ceo cfo executives bonuses
compensation audit accounting regulators antitrust competition monopoly cartel fines
consumers households incomes poverty inequality affordability rent landlords tenants
property construction builders homebuilders mortgage housing starts permits
fintech payments cards cash digital banking cryptocurrency bitcoin stablecoin blockchain
tourism hospitality hotels airlines travel bookings retailers supermarkets grocers
discounters ecommerce online shoppers brands franchise automakers carmakers chipmakers
semiconductors steel aluminium textiles agriculture farmers harvest crops livestock dairy
fisheries exporter trading partners globalization outsourcing reshoring offshoring
subsidies incentives bailout rescue guarantee treasury finance budget fiscal monetary
tightening easing hikes cuts basis points benchmark inflationary deflation stagflation
slowdown boom bust bubble correction rally selloff volatility liquidity solvency
downgrade upgrade rating agencies sovereign default creditors bondholders coupon maturity
""",
    "energy": """
oil gas pipeline refinery crude barrel drilling rigs wells offshore onshore fracking shale
reserves opec producers output electricity grid power plant generation turbines wind solar
panels photovoltaic hydropower dam nuclear reactor uranium fuel coal lignite mines miners
utilities utility tariffs bills meters smart storage batteries lithium hydrogen
electrolyser biofuels biomass biogas geothermal heat pumps heating boilers insulation
efficiency transmission lines substations interconnector cables megawatts gigawatts
kilowatt hours capacity baseload peak demand outages blackouts brownouts load shedding
renewables renewable clean transition decarbonisation emissions carbon capture
sequestration methane flaring leaks lng terminal tanker shipments imports exports
suppliers contracts prices wholesale spot market futures regulator ofgem licence auction
subsidy feed tariff concessions operator operators developers projects farms arrays
rooftop inverter charging chargers stations electric vehicles evs motors charging network
refineries petrol diesel kerosene jet fuel pumps forecourts stations distributors
petrochemicals plastics fertiliser ammonia smelters aluminium steelworks industrial users
energy intensive households consumers poverty winter cold heating season reserves
stockpiles strategic storage caverns depots terminals ports shipping tankers vessels
pipelines compressor valves leaks explosions safety inspectors decommissioning waste
radioactive fusion tokamak plasma reactors enrichment centrifuges fission isotopes
cooling towers chimneys flue scrubbers ash sulphur nitrogen oxides pollutants
grid operators balancing frequency inertia curtailment congestion bottlenecks upgrades
hydro pumped reservoir tidal wave marine floating foundations blades nacelle towers
megawatt gigawatt terawatt output generation mix share percent record low high
""",
    "climate": """
climate warming temperatures heatwave drought wildfires floods flooding rainfall storms
hurricanes typhoons cyclones tornadoes monsoon glaciers ice sheets melting permafrost
arctic antarctic polar sea level rise coastal erosion coral reefs bleaching oceans acidity
emissions greenhouse carbon dioxide methane nitrous pollution smog particulates air
quality ozone deforestation rainforest forests trees reforestation afforestation peat
wetlands biodiversity species extinction habitats wildlife conservation ecosystems
pollinators bees insects birds migration drought resilience adaptation mitigation
targets pledges accord paris cop summit negotiators delegates scientists ipcc report
models projections scenarios degrees celsius threshold tipping points feedback loops
footprint offsets credits neutrality net zero pathway budgets sinks soil farming
regenerative organic pesticides fertilisers runoff nitrates rivers lakes aquifers
groundwater reservoirs irrigation water scarcity desertification famine harvests crops
yields heat stress livestock fisheries collapse overfishing plastic waste recycling
landfill litter microplastics packaging compost circular economy reuse repair
activists protesters extinction rebellion greta strikes youth campaigners lawsuits
litigation liability polluter pays loss damage fund finance adaptation developing nations
islands vulnerable communities displacement refugees insurance insurers losses claims
meteorologists forecasters weather records anomaly averages baseline satellite
observations measurements stations buoys sensors data modelling attribution studies
extremes frequency intensity seasons summer winter spring autumn snow snowfall frost
heat mortality cooling shade urban trees green roofs cycling lanes transit walkable
""",
    "culture": """
museum gallery exhibition paintings painter sculpture sculptor artist artists artwork
collection curator retrospective installation festival theatre stage play playwright
actors actress director premiere film films cinema screening box office studio sequel
series streaming episodes season finale drama comedy thriller documentary animation
novel novelist author authors book books publisher publishing bestseller memoir poetry
poet poems literature prize award awards nominees nominated ceremony oscars grammys
music album albums singer songwriter band bands concert concerts tour stadium orchestra
symphony conductor opera ballet dancers choreographer composer jazz rock pop hip hop
rapper charts single release records label vinyl playlist fans audiences tickets venue
heritage monuments cathedral architecture architect restoration archaeology archaeologists
excavation artefacts ancient medieval roman relics manuscripts library libraries archive
photography photographer portraits fashion designer designers runway couture models
celebrity celebrities critics reviews review acclaimed masterpiece debut anthology
auction auctioneer bids sotheby christie collectors provenance forgery looted repatriation
television broadcaster presenter host talk reality contestants quiz channel ratings
viewers audience podcast radio comedian standup satire cartoon comics graphic manga
crafts pottery ceramics textiles weaving embroidery folk traditions customs carnival
parade celebrations holiday christmas easter diwali ramadan eid lunar year anniversary
centenary commemoration memorial poets writers translators translation languages dialect
bookshop bookshops readers reading literacy storytelling festivals fringe biennale
""",
    "defense": """
military army navy air force soldiers troops battalion brigade regiment division corps
marines infantry artillery tanks armoured vehicles helicopters jets fighter bombers
drones missiles missile rockets warheads munitions ammunition shells weapons arms
rifles grenades mortar launchers radar sonar submarines frigates destroyers carrier
warship warships fleet patrol coastguard base bases barracks garrison deployment
deployed mission operation operations exercise exercises drills manoeuvres readiness
alliance nato allies partners pact treaty arms control disarmament proliferation
nuclear deterrent deterrence doctrine strategy generals general admiral commander
commanders chief staff officers sergeant veterans recruits recruitment conscription
reservists mobilisation ministry procurement contract contracts contractor contractors
defence spending budget orders tender tenders procurement shipbuilding shipyard aerospace
manufacturer manufacturers exports licences embargo sanctions intelligence espionage
spy spies agency agencies surveillance reconnaissance satellites cyber hackers attack
attacks hybrid warfare war conflict frontline offensive counteroffensive
invasion occupation territory border incursion shelling airstrike airstrikes strike
strikes casualties wounded killed injured civilians evacuation humanitarian corridor
ceasefire truce peacekeepers peacekeeping mission observers negotiations prisoners
exchange captured hostages insurgents militants rebels guerrillas militia terrorist
terrorism counterterrorism bomb bombing explosion ied checkpoint convoy ambush siege
artillery barrage trench trenches bunker bunkers fortifications minefield mines
demining sappers engineers logistics supplies fuel rations medics field hospital
air defence interceptors shield dome anti aircraft ballistic hypersonic cruise range
warplanes squadron wing pilots aircrew flight training simulators academy cadets
""",
    "transport": """
railway railways rail train trains station stations platform tracks line lines signal
signals signalling timetable delays cancellations commuters passengers fares tickets
season pass operator operators franchise rolling stock carriages locomotives freight
cargo containers port ports harbour ships shipping ferry ferries crossing terminal
airport airports airline airlines flights flight runway terminals aviation aircraft
planes jet pilots cabin crew baggage luggage security queues slots landing takeoff
bus buses coach coaches tram trams metro subway underground tube stops routes route
network networks interchange depot depots drivers driver strike strikes walkout unions
motorway motorways highway highways roads road bridge bridges tunnel tunnels junction
junctions roundabout lanes lane traffic congestion jams gridlock tolls toll charges
parking cars car vehicles vehicle electric charging points cyclists cycling bikes bicycle
scooters pedestrians pavements crossings speed limits cameras fines accidents crash
crashes collision collisions injuries fatalities safety seatbelts helmets airbags
recall recalls inspections maintenance repairs potholes resurfacing roadworks closures
diversions detours timetables frequencies capacity overcrowding punctuality reliability
infrastructure investment upgrade upgrades electrification high speed rail link links
tunnelling viaduct construction contractor costs overruns delays planning consultation
taxi taxis rideshare uber drivers licensing app apps autonomous driverless self driving
logistics lorries trucks hauliers haulage couriers deliveries delivery vans warehouses
shipping lanes canal canals locks barges waterways tankers containers vessels
""",
    "science": """
scientists researchers research study studies university laboratory lab experiment
experiments physics physicist chemistry chemist biology biologist astronomy astronomers
telescope telescopes observatory galaxy galaxies stars star planet planets exoplanet
exoplanets orbit orbits moon lunar mars martian rover probe spacecraft mission launch
rocket satellite satellites space station astronauts cosmonauts nasa esa comet asteroid
asteroids meteor meteorite gravity gravitational waves black holes dark matter energy
particles particle accelerator collider quantum computing qubits atoms molecules
electrons protons neutrons photons laser lasers light spectrum wavelength radiation
genome genes gene genetic dna rna sequencing mutation mutations cells cell stem proteins
protein enzymes bacteria viruses microbes microbiome evolution fossils fossil dinosaur
dinosaurs paleontologists species ancestors primates neanderthals archaeology
geology geologists earthquake earthquakes volcano volcanoes eruption magma tectonic
plates seismic mantle crust minerals crystals materials graphene superconductors
chemistry compounds reactions catalyst polymers nanotechnology nanoparticles robotics
robots artificial intelligence algorithms machine learning neural networks models
data datasets computing supercomputer simulation simulations mathematics mathematicians
theorem proof equations statistics journal journals paper papers findings results
peer reviewed published publication nature science discovery breakthrough hypothesis
theory observation measurements instrument instruments sensors detectors samples specimen
specimens fieldwork expedition expeditions ocean deep sea marine biologists ecology
neuroscience brain neurons memory cognition behaviour psychology psychologists
""",
    "sports": """
football soccer league cup final semifinal quarterfinal match matches goal goals striker
midfielder defender goalkeeper keeper coach manager squad team teams club clubs players
player transfer transfers signing contract season fixture fixtures stadium fans supporters
referee penalty penalties red card yellow offside var header hat trick draw victory
defeat win wins loss losses title champions championship tournament trophy medal medals
olympics olympic athletes athlete sprinter marathon relay hurdles javelin discus pole
vault swimming swimmer pool freestyle backstroke cycling cyclist tour stage peloton
sprint climb tennis racket serve set sets tiebreak grand slam wimbledon open court clay
grass golf golfer putt birdie eagle bogey course hole holes cricket batsman bowler wicket
wickets innings test series rugby scrum tries try conversion lineout basketball dunk
rebound playoffs nba baseball pitcher inning home run hockey puck ice rink skating skier
skiing slalom downhill snowboard boxing boxer bout knockout heavyweight belt fighter mma
formula racing race driver drivers grid lap laps pole podium pit qualifying circuit
motorsport rally sailing regatta rowing crew paralympics paralympic doping ban banned
suspension injury injured hamstring knee ankle surgery recovery comeback retirement
veteran rookie debut captain captaincy selection selectors ranking rankings seed seeded
upset comeback thriller stoppage extra time shootout scoreline unbeaten streak
relegation promotion table standings points leaders derby rivals rivalry kickoff
""",
    "health": """
hospital hospitals doctors doctor nurses nurse patients patient clinic clinics surgery
surgeons surgeon waiting lists ward wards beds emergency ambulance paramedics nhs health
healthcare care staff shortages gp gps appointments diagnosis treatment treatments therapy
drugs drug medicine medicines prescription pharmacy pharmacists vaccine vaccines
vaccination jabs booster immunity antibodies virus viral infection infections outbreak
pandemic epidemic covid flu influenza measles cholera malaria tuberculosis hiv aids
cancer tumour tumours chemotherapy radiotherapy screening mammogram biopsy oncology
heart cardiac stroke blood pressure cholesterol diabetes insulin obesity weight diet
nutrition sugar salt alcohol smoking tobacco vaping cigarettes addiction overdose opioids
mental anxiety depression wellbeing suicide counselling psychiatrist psychiatric dementia
alzheimer elderly ageing carers disability disabilities rehabilitation physiotherapy
pregnancy maternity midwives births babies infants children paediatric fertility ivf
clinical trial trials researchers study studies placebo dose doses effects safety
regulator approval approved licensing pharmaceutical pharma drugmaker generics patents
insurance insurers premiums coverage uninsured costs funding budget trusts commissioning
public outbreaks contact tracing testing tests isolation quarantine masks hygiene
antibiotic antibiotics resistance superbugs sepsis transplant transplants organ donors
donor blood plasma kidney liver lungs lung asthma allergy allergies symptoms syndrome
chronic pain fatigue sleep exercise fitness lifestyle prevention screening checkups
""",
}

#: Common words of news prose beyond the function words (the general pool's head), one text.
GENERAL = """
said says new people year years time government week day days city state report country
company officials president minister public group police court market plan policy percent
million billion number area world school family service council members office program
question money work home water power team season game deal talks agreement price rate bank
growth budget tax workers jobs industry business project support issue statement decision
law vote leader region community residents center road building data study research
university hospital night morning month months hours evidence change increase decline
figures risk crisis told announced added expected according next major local national
international early late high low large small recent private several just why make took
shows called set say think want need help plans looking likely including previous analysis
sources spokesman spokeswoman interview average total series future process effort did
does today yesterday tomorrow monday tuesday wednesday thursday friday
saturday sunday january february march april june july august september october november
december spring summer autumn winter weekend decade century history past present later
recently currently already latest final initial second million thousands hundreds dozens
half quarter third majority minority share part rest whole single double rise fall drop
jump climb slump surge gain gains losses cut cuts boost pressure concerns concern fears
hopes warning warned warns urged urges called calls asked asks agreed agrees denied
denies claimed claims confirmed confirms revealed reveals suggested suggests showed
insisted admitted argued believes believed expects hoped plans planned launched opened
closed started began begun ended finished continued remains remained became becomes
reached reaching faced facing failed failing managed allowed allows needed needs wanted
tried trying seemed looked appeared happened happens moved moving left leaving brought
bringing gave giving kept keeping held holding met meeting spoke speaking wrote writing
read reading heard hearing saw seeing found finding won lost paid paying spent spending
built building sold selling bought buying offered offering received receiving sent
important possible difficult clear strong weak key main leading top senior junior
former current future foreign domestic economic political social financial legal
official independent general special certain particular similar different better best
worse worst bigger biggest higher highest lower lowest longer longest shorter faster
slower earlier later major minor significant serious critical serious full free open
available able unable ready likely unlikely sure real true false wrong right good bad
new old young long short big little great huge vast tiny entire various whole
man woman men women children child families
friends residents visitors customers users members leaders experts observers critics
supporters opponents rivals partners officials authorities staff employees managers
director chairman chairwoman head spokesperson representative adviser advisers
"""
